// The predictor's validation as a study job (interim: waits for study-predict's validatePredictor).

import { StudyError } from "./study-error.js";
import type { JobSettings, StudyBaseInput } from "./jobs.js";
import type { PredictorValidation } from "./results.js";

export function predictorUnits(n: number, _model: string): number {
  return n;
}

export async function predictorJob(job: { base: StudyBaseInput; n: number }, _s: JobSettings, _onUnits: (done: number, detail: string) => void, _signal?: AbortSignal): Promise<PredictorValidation> {
  throw new StudyError("STUDY_NO_PREDICTOR", `the layout predictor is not available to validate on ${job.base.name}`, { hint: "use --skip-predictor" });
}
