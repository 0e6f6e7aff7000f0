#include "json.h"

#include <math.h>
#include <string.h>

static void put_string(struct membuf *b, const char *s, size_t n)
{
    membuf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            membuf_printf(b, "\\%c", c);
        else if (c < 0x20)
            membuf_printf(b, "\\u%04x", c);
        else
            membuf_append(b, &s[i], 1);
    }
    membuf_append(b, "\"", 1);
}

/* Separator and key of the next member. */
static void member(struct json *j, const char *key)
{
    if (!j->first[j->depth])
        membuf_append(j->b, ",", 1);
    j->first[j->depth] = 0;
    if (key) {
        put_string(j->b, key, strlen(key));
        membuf_append(j->b, ":", 1);
    }
}

static void open_(struct json *j, const char *key, char c)
{
    member(j, key);
    membuf_append(j->b, &c, 1);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->depth++;
    j->first[j->depth] = 1;
}

static void close_(struct json *j, char c)
{
    membuf_append(j->b, &c, 1);
    if (j->depth > 0)
        j->depth--;
}

void json_begin(struct json *j, struct membuf *b)
{
    j->b = b;
    j->depth = 0;
    j->first[0] = 1;
    membuf_append(b, "{", 1);
    j->depth = 1;
    j->first[1] = 1;
}

void json_end(struct json *j)
{
    membuf_append(j->b, "}\n", 2);
    j->depth = 0;
}

void json_obj(struct json *j, const char *key) { open_(j, key, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr(struct json *j, const char *key) { open_(j, key, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

void json_u64(struct json *j, const char *key, uint64_t v)
{
    member(j, key);
    membuf_printf(j->b, "%llu", (unsigned long long)v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
    member(j, key);
    membuf_printf(j->b, "%lld", (long long)v);
}

void json_num(struct json *j, const char *key, double v)
{
    member(j, key);
    if (isfinite(v))
        membuf_printf(j->b, "%.6g", v);
    else
        membuf_append(j->b, "null", 4);
}

void json_bool(struct json *j, const char *key, int v)
{
    member(j, key);
    membuf_append(j->b, v ? "true" : "false", v ? 4 : 5);
}

void json_strn(struct json *j, const char *key, const char *s, size_t n)
{
    member(j, key);
    put_string(j->b, s, n);
}

void json_str(struct json *j, const char *key, const char *s)
{
    if (!s) {
        member(j, key);
        membuf_append(j->b, "null", 4);
        return;
    }
    json_strn(j, key, s, strlen(s));
}
