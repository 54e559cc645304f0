/*
 * address.c - a delivery address as a shopper gives it, when joining a
 * delivered campaign and when setting an order's address. Not a handler:
 * both routes read the address here, so they accept exactly the same.
 */
#include "api/shop/address.h"

#include <stdlib.h>

#include "http/request.h"
#include "lib/json.h"

const char *address_read(struct req *r, struct jfields *jf, const cJSON *obj)
{
    static const struct {
        const char *key;
        size_t max;
    } parts[] = {{"name", 64}, {"phone", 32}, {"region", 200}, {"line", 400}};
    cJSON *out = cJSON_CreateObject();
    if (out == NULL)
        abort();
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const cJSON *v = json_get(obj, parts[i].key);
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
            json_utf8_length(v->valuestring) > parts[i].max ||
            !json_printable(v->valuestring, false)) {
            jfields_fail(jf, "address",
                         "address.%s must be text of 1 to %zu characters",
                         parts[i].key, parts[i].max);
            cJSON_Delete(out);
            return NULL;
        }
        if (cJSON_AddStringToObject(out, parts[i].key, v->valuestring) == NULL)
            abort();
    }
    size_t members = 0;
    for (const cJSON *m = obj->child; m != NULL; m = m->next)
        members++;
    if (members != sizeof parts / sizeof parts[0]) {
        jfields_fail(jf, "address",
                     "address takes exactly name, phone, region and line");
        cJSON_Delete(out);
        return NULL;
    }
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (text == NULL)
        abort();
    const char *copy = req_strdup(r, text);
    cJSON_free(text);
    return copy;
}
