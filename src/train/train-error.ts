// The training domain's typed error: bad data, configs, --train selections and resume states.
// Message names the file or field, what was expected and what was found; the hint says what to do.

import { DuskError } from "../errors.js";

/** Training and healing failures a user can cause (codes `TRAIN_*`). */
export class TrainError extends DuskError {}
