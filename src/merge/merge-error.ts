// Failures while merging tensors: a method's own refusal on these values (mergekit raises the
// same), inputs that changed since planning, workers that died.

import { DuskError } from "../errors.js";

export class MergeError extends DuskError {}
