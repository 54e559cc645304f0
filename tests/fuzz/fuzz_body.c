/*
 * fuzz_body.c - libFuzzer target over request bodies: json_parse_strict,
 * then the field readers a handler would run, then a print/re-parse round
 * trip.
 *
 * Oracles beyond the sanitizers: a parsed tree prints to JSON that parses
 * again and prints the same; every parsed string is NUL-free valid text
 * whose length json_utf8_length can count; an integer read by
 * json_item_int equals the node's double exactly (|v| <= 2^53). A broken
 * oracle calls abort() so libFuzzer keeps the input.
 */
#include "lib/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const cJSON *node, int depth)
{
    if (depth > JSON_MAX_DEPTH + 1)
        abort();
    for (; node != NULL; node = node->next) {
        int64_t v;

        if (cJSON_IsString(node))
            (void)json_utf8_length(node->valuestring);
        if (cJSON_IsNumber(node)) {
            if (node->valuestring == NULL)
                abort();
            if (json_item_int(node, INT64_MIN, INT64_MAX, &v) &&
                (double)v != node->valuedouble)
                abort();
        }
        if (node->child != NULL)
            check_tree(node->child, depth + 1);
    }
}

static void read_fields(const cJSON *root)
{
    static const char *const allowed[] = {
        "quantity", "name", "items", "title", "login", "price_cents", NULL};
    struct jfields jf;
    int64_t q = 0;
    const char *name = NULL;
    bool flag = false, present = false;
    const cJSON *items, *addr;

    jfields_init(&jf, root);
    (void)jfields_only(&jf, allowed);

    jfields_init(&jf, root);
    (void)jfields_int(&jf, "quantity", false, 1, 500, &q, &present);
    (void)jfields_int(&jf, "price_cents", false, 0, INT64_MAX, &q, NULL);
    (void)jfields_str(&jf, "name", false, 1, 64, &name, &present);
    if (name != NULL && json_utf8_length(name) > 64)
        abort();
    (void)jfields_bool(&jf, "active", false, &flag, &present);
    items = jfields_array(&jf, "items", false, 0, 1000);
    addr = jfields_object(&jf, "addr", false);
    (void)addr;
    for (const cJSON *c = items ? items->child : NULL; c != NULL; c = c->next) {
        int64_t v;
        (void)json_item_int(c, -JSON_MAX_SAFE_INT, JSON_MAX_SAFE_INT, &v);
    }

    /* each reader also on its own, so a failure early does not hide them */
    jfields_init(&jf, root);
    (void)jfields_str(&jf, "login", true, 1, 64, &name, NULL);
    jfields_init(&jf, root);
    (void)jfields_array(&jf, "items", true, 1, 100);
    jfields_init(&jf, root);
    (void)jfields_int(&jf, "title", true, INT64_MIN, INT64_MAX, &q, NULL);
    if (!jfields_ok(&jf) && (jf.field == NULL || jf.message[0] == '\0'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_parse_error err;
    cJSON *root = json_parse_strict((const char *)data, size, &err);
    cJSON *again;
    char *printed, *reprinted;

    if (root == NULL) {
        if (err.status == JSON_PARSE_OK || err.offset > size)
            abort();
        return 0;
    }
    if (err.status != JSON_PARSE_OK)
        abort();
    check_tree(root, 0);
    if (cJSON_IsObject(root))
        read_fields(root);
    if (cJSON_IsArray(root)) {
        for (const cJSON *c = root->child; c != NULL; c = c->next) {
            int64_t v;
            (void)json_item_int(c, 1, 500, &v);
            if (cJSON_IsObject(c))
                read_fields(c);
        }
    }

    printed = cJSON_PrintUnformatted(root);
    if (printed != NULL) {
        again = json_parse_strict(printed, strlen(printed), &err);
        if (again == NULL)
            abort();
        reprinted = cJSON_PrintUnformatted(again);
        if (reprinted != NULL && strcmp(printed, reprinted) != 0)
            abort();
        cJSON_free(reprinted);
        cJSON_Delete(again);
        cJSON_free(printed);
    }
    cJSON_Delete(root);
    return 0;
}
