// Size budgets (`--size-budget TARGET=SIZE`): each target's image against its budget.
import type { SizeBudgetReport, TargetReport } from "./build-report.js";

/** Each budget against its target's image size, in the order the budgets were given. */
export function checkSizeBudgets(
  targets: readonly TargetReport[],
  budgets: Readonly<Record<string, number>>,
): SizeBudgetReport[] {
  return Object.entries(budgets).map(([target, budgetBytes]) => {
    const sizeBytes = targets.find((report) => report.target === target)?.sizeBytes ?? null;
    const overBytes = sizeBytes === null ? 0 : Math.max(0, sizeBytes - budgetBytes);
    return { target, budgetBytes, sizeBytes, overBytes, exceeded: overBytes > 0 };
  });
}
