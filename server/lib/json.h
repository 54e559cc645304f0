/*
 * json.h - strict JSON bodies in, exact JSON out.
 *
 * Request bodies are parsed by our own strict parser into cJSON trees
 * (cJSON's parser accepts duplicate keys, invalid UTF-8 and reads numbers
 * only as double). The parser refuses: invalid UTF-8 anywhere, a string
 * holding NUL (raw or \u0000), a duplicate key in one object (keys compared
 * byte for byte, case-sensitive), nesting deeper than JSON_MAX_DEPTH, and
 * anything but whitespace after the value. Every number node keeps its
 * literal text in `valuestring`, so integers are read from the text, never
 * through a double: json_*_int refuse fractions, exponents and values beyond
 * +-2^53.
 *
 * Field readers work on an object through a `struct jfields`: the first
 * failure is kept (field name and a human message) and later calls do
 * nothing, so a handler reads all its fields and checks once.
 */
#ifndef GROUPBUYD_JSON_H
#define GROUPBUYD_JSON_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH    32
#define JSON_MAX_SAFE_INT 9007199254740992LL /* 2^53 */

enum json_parse_status {
    JSON_PARSE_OK = 0,
    JSON_PARSE_SYNTAX,    /* not JSON */
    JSON_PARSE_DEPTH,     /* nested deeper than JSON_MAX_DEPTH */
    JSON_PARSE_DUPLICATE, /* duplicate key */
    JSON_PARSE_UTF8,      /* invalid UTF-8 (or a lone surrogate escape) */
    JSON_PARSE_NUL,       /* a string holding NUL */
    JSON_PARSE_TRAILING,  /* something after the value */
    JSON_PARSE_NOMEM,
};

struct json_parse_error {
    enum json_parse_status status;
    size_t offset;     /* byte offset of the fault */
    char message[128]; /* human sentence, e.g. "duplicate key \"a\"" */
};

/* Parses buf[0..len) (need not be NUL-terminated). Returns the tree, owned by
 * the caller (cJSON_Delete), or NULL with *err filled. */
cJSON *json_parse_strict(const char *buf, size_t len,
                         struct json_parse_error *err)
    __attribute__((warn_unused_result));

/* Case-sensitive member lookup (cJSON_GetObjectItem is not). */
const cJSON *json_get(const cJSON *obj, const char *key);

/* Integer value of a number node from its literal text: true and *out when
 * the literal is an integer (no fraction, no exponent) within [min, max] and
 * within +-2^53. */
bool json_item_int(const cJSON *item, int64_t min, int64_t max, int64_t *out)
    __attribute__((warn_unused_result));

/* True when the valid UTF-8 string s holds no C0 or C1 control character
 * (with multiline, tab, CR and LF are allowed): names and titles are shown
 * to people and printed on lists and exports. */
bool json_printable(const char *s, bool multiline);

/* True when s (NUL-terminated) is valid UTF-8, as the parser requires of
 * a body: for text that arrives outside one (a query parameter). */
bool json_utf8_valid(const char *s);

/* Number of Unicode code points of a valid UTF-8 string. */
size_t json_utf8_length(const char *s);

struct jfields {
    const cJSON *obj;
    const char *field; /* the field at fault, NULL while all is well */
    char message[160]; /* why, a human sentence */
};

void jfields_init(struct jfields *jf, const cJSON *obj);
static inline bool jfields_ok(const struct jfields *jf)
{
    return jf->field == NULL;
}

/* Refuses members not in `allowed` (NULL-terminated). */
bool jfields_only(struct jfields *jf, const char *const allowed[]);

/* Each reader: a missing optional field leaves *out untouched and sets
 * *present (when given) to false; null counts as missing for optional fields
 * and is refused for required ones. Returns false on any failure. */
bool jfields_int(struct jfields *jf, const char *key, bool required,
                 int64_t min, int64_t max, int64_t *out, bool *present);
bool jfields_str(struct jfields *jf, const char *key, bool required,
                 size_t min_chars, size_t max_chars, const char **out,
                 bool *present);
bool jfields_bool(struct jfields *jf, const char *key, bool required, bool *out,
                  bool *present);
/* Arrays and objects: returns the node or NULL (missing optional, or error:
 * see jfields_ok). */
const cJSON *jfields_array(struct jfields *jf, const char *key, bool required,
                           size_t min_items, size_t max_items);
const cJSON *jfields_object(struct jfields *jf, const char *key, bool required);
/* Records a failure found by the caller (e.g. a cross-field rule). */
void jfields_fail(struct jfields *jf, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Output helpers: integers are written as raw literals so no int64 ever goes
 * through a double on the way out either. Return false on allocation
 * failure. */
bool json_add_int(cJSON *obj, const char *key, int64_t v);
bool json_add_str(cJSON *obj, const char *key,
                  const char *s); /* NULL -> null */
cJSON *json_int(int64_t v);

/* Prints tree compactly, each number that json_parse_strict read written
 * as its literal (cJSON alone would print it from a double). This is how a
 * member computed in C is added to an object PostgreSQL built: parse, add,
 * print. The number nodes of tree become raw nodes: the caller prints it
 * once, then deletes it. Returns text to free with cJSON_free, or NULL
 * when out of memory. */
char *json_print_exact(cJSON *tree) __attribute__((warn_unused_result));

#endif
