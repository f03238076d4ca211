// The experiment's typed error (a DuskError with an EXPERIMENT_* code and a hint).

import { DuskError } from "../errors.js";

export class ExperimentError extends DuskError {}
