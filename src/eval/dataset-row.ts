// One row of a task's split file, as dataset.ts reads it and a task's parseDoc takes it. Its own
// module so that task.ts (the task contract) and dataset.ts (the reader) need not import each other.

export interface DatasetRow {
  /** the file it came from, for error messages */
  readonly file: string;
  /** 0-based row index in the file */
  readonly index: number;
  readonly value: Readonly<Record<string, unknown>>;
  /**
   * Parquet only: the file's column paths ("choices", "choices.text") → "group" for a struct that
   * field paths may walk into, "leaf" for a value or list. Lets a missing field be reported as a
   * missing column of the file rather than a bad row. Absent for JSON rows (no schema).
   */
  readonly columns?: ReadonlyMap<string, "group" | "leaf">;
}
