// Public surface of dusk's Hub support: model/dataset references, downloads into the shared
// Hugging Face cache with progress events, and exporting a snapshot into a plain folder.

export { parseModelRef, parseDatasetRef, formatHubRef, validateRepoId, validateRevision } from "./model-ref.js";
export type { ModelRef, HubRef, LocalRef, RepoType, ParseRefOptions } from "./model-ref.js";
export { downloadModel, downloadDataset, downloadRepo, resolveModelDir } from "./download-repo.js";
export type { DownloadOptions, HubEvent, RepoFile } from "./download-repo.js";
export { exportSnapshot, listSnapshotFiles } from "./snapshot-files.js";
export type { ExportMode, ExportOptions, SnapshotFile } from "./snapshot-files.js";
export { resolveHubSettings, hubCacheDir, hfHome, hubToken, DEFAULT_HUB_ENDPOINT } from "./hub-config.js";
export type { HubSettings, HubSettingsOverrides } from "./hub-config.js";
export { repoCachePaths, repoFolderName } from "./cache-layout.js";
export type { RepoCachePaths } from "./cache-layout.js";
export { HUB_ERROR_CODES } from "./hub-errors.js";
export { DEFAULT_RETRY } from "./hub-fetch.js";
export type { RetryPolicy, RetryNotice } from "./hub-fetch.js";
export { compileSelection } from "./file-filter.js";
export type { FileSelection } from "./file-filter.js";
