// Public surface of dusk's runtime, the only importer of node-llama-cpp: load a model (GGUF, HF
// directory via the conversion cache, Hub id), generate with validated sampling and presets, and
// chat through the model's template; the GPU options every llama.cpp command shares. The HTTP
// server that serves it is src/server/. Scoring builds on LoadedModel (llama, model, sequence).

export { openModel, resolveGgufPath, LoadedModel, DEFAULT_CONTEXT_CAP } from "./loaded-model.js";
export type { OpenModelOptions } from "./loaded-model.js";
export { cachedGguf, defaultCacheDir, sourceFingerprint } from "./gguf-cache.js";
export type { CachedGguf } from "./gguf-cache.js";
export { generate, DEFAULT_MAX_TOKENS } from "./generate.js";
export type { GenerateOptions, GenerationResult, StopReason } from "./generate.js";
export { StopStringMatcher } from "./stop-strings.js";
export { validateSampling, validateLimits, checkSamplingValue, describeRange, randomSeed, SAMPLING_RANGES, SAMPLING_FLAGS, STOP_LIMITS } from "./sampling.js";
export type { Sampling, GenerationLimits } from "./sampling.js";
export { BUILTIN_PRESETS, DEFAULT_PRESET, listPresets, findPreset, resolveSampling } from "./presets.js";
export type { Preset } from "./presets.js";
export { defaultConfigFile, loadUserPresets, parsePresetsConfig } from "./presets-config.js";
export type { UserPreset } from "./presets-config.js";
export { ChatSession, compileChatTemplate, modelChatTemplate, modelChatTemplateNames, renderChat } from "./chat-template.js";
export type { ChatMessage, ChatTemplateTokens } from "./chat-template.js";
export { BUILTIN_CHAT_TEMPLATES, resolveChatTemplate } from "./builtin-chat-templates.js";
export type { ChatTemplateChoice } from "./builtin-chat-templates.js";
export { llamaInstance, llamaLogSince, logMark, checkGpuLayers, describeDevice, GPU_CHOICES } from "./llama-instance.js";
export type { GpuChoice, GpuLayers, GpuOptions } from "./llama-instance.js";
