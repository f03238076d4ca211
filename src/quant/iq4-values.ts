// The non-linear 4-bit code book shared by IQ4_NL and IQ4_XS (ggml-common.h's kvalues_iq4nl), and
// MXFP4's doubled E2M1 values (kvalues_mxfp4).

export const IQ4_VALUES = Int8Array.of(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
export const MXFP4_VALUES = Int8Array.of(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
