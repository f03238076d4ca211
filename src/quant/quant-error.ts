// The quantization domain's typed error (codes QUANT_*): unknown or unsupported types, tensors a
// type cannot hold, imatrix files that are malformed or belong to another model.

import { DuskError } from "../errors.js";

export class QuantError extends DuskError {}
