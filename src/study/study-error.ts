// The study's typed error (bad bases, too little text, an interrupted run), as DuskError with a hint.

import { DuskError } from "../errors.js";

export class StudyError extends DuskError {}
