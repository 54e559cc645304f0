/*
 * openapi.c - GET /openapi.json: the OpenAPI document of this API
 * (docs/openapi.json, config openapi_file), read once at start and served
 * byte for byte.
 *
 * Read at start rather than per request so that serving it costs no I/O on
 * the event loop, and so that a missing or broken document stops the start
 * instead of surfacing as a 500 when a client first asks for it.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ops/ops.h"
#include "http/request.h"

/* The document can grow with the API; this bounds a mistaken path (a
 * device, a huge file) rather than the document. */
#define OPENAPI_MAX_BYTES (4 * 1024 * 1024)

static char *openapi_text;
static size_t openapi_len;

bool openapi_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s (config openapi_file)", path,
                 strerror(errno));
        return false;
    }
    char *buf = malloc(OPENAPI_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return false;
    }
    size_t n = fread(buf, 1, OPENAPI_MAX_BYTES + 1, f);
    bool read_error = ferror(f) != 0;
    fclose(f);
    if (read_error || n > OPENAPI_MAX_BYTES) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path,
                 read_error ? "read error" : "larger than 4 MiB");
        return false;
    }
    buf[n] = '\0';
    cJSON *doc = cJSON_ParseWithLength(buf, n);
    bool ok = cJSON_IsObject(doc) &&
              cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "openapi"));
    cJSON_Delete(doc);
    if (!ok) {
        free(buf);
        snprintf(err, errlen, "%s: not an OpenAPI document in JSON", path);
        return false;
    }
    free(openapi_text);
    openapi_text = buf;
    openapi_len = n;
    return true;
}

void openapi_free(void)
{
    free(openapi_text);
    openapi_text = NULL;
    openapi_len = 0;
}

/* GET /openapi.json -> 200 the document */
void openapi_get(struct req *r)
{
    if (openapi_text == NULL) {
        req_reply_error(r, 404, "not_found", NULL, "No API document loaded.");
        return;
    }
    req_reply_raw(r, 200, "application/json", openapi_text, openapi_len);
}
