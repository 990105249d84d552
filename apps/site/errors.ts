/**
 * Configuration errors that name the offending field, so that a bad site or sizing input is reported as
 * `site.domain: ...` instead of a stack trace deep inside a manifest builder.
 */
export interface ConfigIssue {
  field: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }

  /** The fields named by this error, for tests and callers that react per field. */
  get fields(): string[] {
    return this.issues.map((i) => i.field);
  }
}

/** Collects every problem in one pass so the user fixes them all at once, then throws once. */
export class IssueCollector {
  private readonly found: ConfigIssue[] = [];

  add(field: string, message: string): void {
    this.found.push({ field, message });
  }

  check(condition: boolean, field: string, message: string): boolean {
    if (!condition) this.add(field, message);
    return condition;
  }

  throwIfAny(): void {
    if (this.found.length > 0) throw new ConfigError(this.found);
  }
}
