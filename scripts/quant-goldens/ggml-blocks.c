// Block-level goldens from ggml itself (linked against the bundled llama.cpp's libggml-base):
//   ggml-blocks DIR
// reads DIR/x.f32 (rows of 512 floats) and DIR/imatrix.f32 (512 floats), and for each type writes
// DIR/q-TYPE.bin = ggml_quantize_chunk(TYPE, x, no imatrix) and DIR/qi-TYPE.bin (with the imatrix);
// reads DIR/blocks-TYPE.bin (random blocks) and writes DIR/d-TYPE.f32 = the type's to_float on them.
// Driven by regenerate.mjs, which writes the inputs and folds the outputs into the golden JSON.
#include "ggml.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#define COLS 512

static void * slurp(const char * dir, const char * name, size_t * size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE * f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
    fseek(f, 0, SEEK_END);
    *size = (size_t) ftell(f);
    fseek(f, 0, SEEK_SET);
    void * data = malloc(*size ? *size : 1);
    if (fread(data, 1, *size, f) != *size) { fprintf(stderr, "short read %s\n", path); exit(1); }
    fclose(f);
    return data;
}

static void spill(const char * dir, const char * prefix, const char * type, const char * ext, const void * data, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s%s", dir, prefix, type, ext);
    FILE * f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) { fprintf(stderr, "cannot write %s\n", path); exit(1); }
    fclose(f);
}

int main(int argc, char ** argv) {
    if (argc != 2) { fprintf(stderr, "usage: ggml-blocks DIR\n"); return 2; }
    const char * dir = argv[1];
    size_t xsize, isize;
    float * x = slurp(dir, "x.f32", &xsize);
    float * imatrix = slurp(dir, "imatrix.f32", &isize);
    if (isize != COLS * sizeof(float) || xsize % (COLS * sizeof(float)) != 0) { fprintf(stderr, "bad input sizes\n"); return 1; }
    const int64_t rows = (int64_t) (xsize / (COLS * sizeof(float)));
    const enum ggml_type types[] = {
        GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0,
        GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
        GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS, GGML_TYPE_MXFP4, GGML_TYPE_F16, GGML_TYPE_BF16,
    };
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const enum ggml_type type = types[t];
        char name[64];  // upper case, as dusk names types
        snprintf(name, sizeof name, "%s", ggml_type_name(type));
        for (char * c = name; *c; c++) *c = (char) toupper((unsigned char) *c);
        const size_t qsize = ggml_row_size(type, COLS) * rows;
        void * q = calloc(1, qsize);
        if (type != GGML_TYPE_MXFP4) {
            ggml_quantize_chunk(type, x, q, 0, rows, COLS, NULL);
            spill(dir, "q-", name, ".bin", q, qsize);
            if (type != GGML_TYPE_F16 && type != GGML_TYPE_BF16) {
                memset(q, 0, qsize);
                ggml_quantize_chunk(type, x, q, 0, rows, COLS, imatrix);
                spill(dir, "qi-", name, ".bin", q, qsize);
            }
        }
        free(q);
        if (type == GGML_TYPE_F16 || type == GGML_TYPE_BF16) continue;
        char bname[256];
        snprintf(bname, sizeof bname, "blocks-%s.bin", name);
        size_t bsize;
        void * blocks = slurp(dir, bname, &bsize);
        const size_t nblocks = bsize / ggml_type_size(type);
        const int64_t n = (int64_t) nblocks * ggml_blck_size(type);
        float * y = malloc(n * sizeof(float));
        ggml_get_type_traits(type)->to_float(blocks, y, n);
        spill(dir, "d-", name, ".f32", y, n * sizeof(float));
        free(y);
        free(blocks);
    }
    return 0;
}
