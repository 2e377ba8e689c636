import type { CheckLocation, CheckRuleName, CheckSeverity } from "./check-types.js";

/** A finding as a rule reports it, before the `# check=` config and default texts apply. */
export interface RawFinding {
  readonly rule: CheckRuleName;
  readonly message: string;
  /** The specific fix; the rule's general one when left out. */
  readonly fix?: string;
  readonly location: CheckLocation;
  readonly stage: string | undefined;
  /** Overrides the rule's severity (e.g. `info` when a fact could not be known). */
  readonly severity?: CheckSeverity;
  /**
   * The comments of the instruction whose `# check=` comment BuildKit merges for this report;
   * undefined for the checks BuildKit runs with the file's config only.
   */
  readonly comments: readonly string[] | undefined;
}

/** Reports one finding. */
export type Emit = (finding: RawFinding) => void;
