// Layer analysis before building: a model's layer-distance map, the seam report of any layout run
// virtually, and a search over layouts of one depth ranked by virtual perplexity. Plain async
// functions returning plain (JSON-ready) values; progress through an `onProgress` callback. Also the
// importance matrix `dusk imatrix` computes (activation statistics of a run on the engine).

export { analyze, type Analysis, type AnalyzeInput, type AnalyzeOptions, type AnalyzeProgress, type LayerMap, type LayoutReport, type StackPosition } from "./analyze.js";
export { angularDistance, DistanceMap, pairStats, rowCos, rowSquaredNorms } from "./angular.js";
export { guidedLayout, layerSpec, layoutCandidates, seamCost, type Candidate, type CandidateKind, type CandidateOptions } from "./candidates.js";
export { analysisCharts, blockInfluenceChart, distanceHeatmap, seamDistanceChart, type NamedChart } from "./charts.js";
export { parseDuration } from "./duration.js";
export { basePrefix, LayoutMeter, measureLayouts, type BasePass, type LayoutMeasurement, type LayoutToMeasure, type MeasureEvent, type MeasureInput, type MeasureOptions, type MeasureResult, type NllTotals } from "./measure-layouts.js";
export { measureFirst, predictSearch, SEVEN_B, stackFlopsPerToken, type CostEstimate, type PredictedCandidate, type PredictSearchEvent, type PredictSearchOptions, type PredictSearchResult } from "./search-predict.js";
export { DEFAULT_PREDICTOR } from "./predictor-weights.js";
export { computeImatrix, type ImatrixEvent, type ImatrixOptions } from "./imatrix-compute.js";
export { candidateRecipe, searchLayouts, type RankedCandidate, type SearchEvent, type SearchInput, type SearchOptions, type SearchResult } from "./search.js";
export { openTextTokenizer, tokenizeText, type CalibrationTokenizer } from "./text-tokenizer.js";
export { checkEngineTypes, textWindows, type TextRun, type TextWindow, type WindowOptions } from "./windows.js";
export { baseProfile, FEATURE_NAMES, layoutFeatures, StateSampler, type BaseProfile, type LayoutFeatures, type PredictLayout } from "./layout-features.js";
export { fitPredictor, nonNegativeRidge, predictorScore, predictPenalty, ranks, spearman, topOverlap, type FeatureName, type FitOptions, type FitRow, type PredictorModel } from "./predict.js";
export { candidatePool, randomTwoCopy, type PoolOptions } from "./random-layouts.js";
