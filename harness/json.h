/* json.h - a minimal JSON emitter into a membuf (the harness's output format).
 * Keys are NULL inside arrays. Non-finite numbers are written as null. */
#ifndef ALLOCMARK_JSON_H
#define ALLOCMARK_JSON_H

#include <stdint.h>

#include "membuf.h"

#define JSON_MAX_DEPTH 16

struct json {
    struct membuf *b;
    int depth;
    int first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
};

void json_begin(struct json *j, struct membuf *b); /* opens the top-level object */
void json_end(struct json *j);                     /* closes it and adds a newline */
void json_obj(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_num(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, int v);
void json_str(struct json *j, const char *key, const char *s);
void json_strn(struct json *j, const char *key, const char *s, size_t n);

#endif
