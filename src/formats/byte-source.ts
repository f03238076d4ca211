// Byte sources and sinks: the only way format code touches bytes. Parsers take a ByteSource and
// never see a path; the file-backed source reads on demand with positional reads, so no tensor
// data is read until it is needed. Sinks are append-only streams with backpressure.

import { open, type FileHandle } from "node:fs/promises";

export interface ByteSource {
  /** what error messages call it: a file path, or `<memory>` */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`, or a rejection if the source is shorter. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Fill `into` from `offset` (length = into.byteLength); lets hot loops reuse one buffer. */
  readInto(offset: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly name = "<memory>",
  ) {
    this.size = bytes.byteLength;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
  async readInto(offset: number, into: Uint8Array): Promise<void> {
    checkRange(this, offset, into.byteLength);
    into.set(this.bytes.subarray(offset, offset + into.byteLength));
  }
  async close(): Promise<void> {}
}

export class FileSource implements ByteSource {
  private constructor(
    readonly name: string,
    readonly size: number,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string): Promise<FileSource> {
    const handle = await open(path, "r");
    try {
      const st = await handle.stat();
      return new FileSource(path, st.size, handle);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.readInto(offset, out);
    return out;
  }

  async readInto(offset: number, into: Uint8Array): Promise<void> {
    checkRange(this, offset, into.byteLength);
    let done = 0;
    while (done < into.byteLength) {
      const { bytesRead } = await this.handle.read(into, done, into.byteLength - done, offset + done);
      if (bytesRead === 0) throw new RangeError(`${this.name}: unexpected end of file at offset ${offset + done}`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function checkRange(src: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > src.size) {
    throw new RangeError(`${src.name}: read of ${length} bytes at offset ${offset} is outside the ${src.size}-byte source`);
  }
}

/** An append-only byte stream. `write` resolves when the bytes may be reused by the caller. */
export interface ByteSink {
  readonly name: string;
  /** bytes written so far */
  readonly position: number;
  write(bytes: Uint8Array): Promise<void>;
  /** Flush to stable storage and release. */
  close(): Promise<void>;
}

export class MemorySink implements ByteSink {
  readonly name = "<memory>";
  private chunks: Uint8Array[] = [];
  position = 0;
  async write(bytes: Uint8Array): Promise<void> {
    this.chunks.push(bytes.slice());
    this.position += bytes.byteLength;
  }
  async close(): Promise<void> {}
  bytes(): Uint8Array {
    const out = new Uint8Array(this.position);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    return out;
  }
}

/**
 * why 64 MiB: large enough that a flush is a few long disk writes, small enough that the final
 * fsync on close has little left to write (a build's last step otherwise waits for all of it)
 */
const SYNC_BEHIND_BYTES = 64 * 1024 * 1024;

export class FileSink implements ByteSink {
  position = 0;
  /** the flush under way behind the writes, if any, and where the next one starts */
  private flushing: Promise<void> | undefined;
  private nextFlush: number;
  private constructor(
    readonly name: string,
    private readonly handle: FileHandle,
    private readonly syncBehind: number,
  ) {
    this.nextFlush = syncBehind;
  }

  /**
   * Creates the file; fails if it exists (outputs go to fresh temporary paths). Every
   * `syncBehind` bytes written, what was written is flushed to the disk while writing goes on.
   */
  static async create(path: string, syncBehind = SYNC_BEHIND_BYTES): Promise<FileSink> {
    return new FileSink(path, await open(path, "wx"), syncBehind);
  }

  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.byteLength;
    if (this.position >= this.nextFlush && this.flushing === undefined) this.flushBehind();
  }

  /** Starts writing what is in the page cache to the disk while the writes go on (fdatasync on libuv's threads). */
  private flushBehind(): void {
    this.nextFlush = this.position + this.syncBehind;
    const flush = this.handle.datasync().finally(() => {
      if (this.flushing === flush) this.flushing = undefined;
    });
    flush.catch(() => undefined); // a failure here is met again, and reported, by close's fsync
    this.flushing = flush;
  }

  async close(): Promise<void> {
    await this.flushing?.catch(() => undefined);
    await this.handle.sync();
    await this.handle.close();
  }
}

/** Streams `length` bytes from a source to a sink through one reusable buffer. */
export async function copyRange(
  src: ByteSource,
  offset: number,
  length: number,
  sink: ByteSink,
  buffer: Uint8Array = new Uint8Array(COPY_CHUNK_BYTES),
): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = Math.min(buffer.byteLength, length - done);
    const view = buffer.subarray(0, n);
    await src.readInto(offset + done, view);
    await sink.write(view);
    done += n;
  }
}

/** why 8 MiB: large enough that syscalls vanish against disk time, small enough for the RSS goal */
export const COPY_CHUNK_BYTES = 8 * 1024 * 1024;
