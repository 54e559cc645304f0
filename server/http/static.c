/*
 * static.c - the web app's files, served from memory.
 *
 * The web app is a few dozen small files (well under a megabyte), so they
 * are read once before the loop starts and never touched on disk again:
 * serving costs no blocking read, and a path can only ever name a file that
 * was found under the root at start. Deploying new files means a restart
 * (there is no SIGHUP reload: a half-reloaded set could mix versions of
 * modules that import each other).
 *
 * Traversal cannot reach the disk at all, and the request path is still
 * checked strictly before the lookup: only [A-Za-z0-9._-] and "/", no empty
 * or dot-leading segment (so no "..", no dot-files), no percent-encoding
 * (our file names never need it, so %2e%2e and %2f are simply unknown), at
 * most STATIC_PATH_MAX bytes. evhttp has already refused a NUL or a raw
 * control character in the request line. Symlinks are followed at load
 * only when they resolve inside the root.
 *
 * URL to file: "/" is shop/index.html, a path ending in "/" gets
 * index.html, anything else maps to the same path under the root
 * ("/admin/app.js" is admin/app.js, "/lib/api.js" lib/api.js).
 *
 * Text files (HTML, JavaScript, CSS, JSON, SVG, plain text, manifests)
 * are also kept gzip-coded (zlib, level 9, at load), and sent so to a
 * client whose Accept-Encoding takes gzip (http/encoding.h): a phone's
 * first load is a third of its size. Both forms carry Vary:
 * Accept-Encoding and an ETag of their own (the coded one ends in "-gz"),
 * so a cache never hands one for the other. A file that does not shrink
 * by a tenth is only sent as it is.
 *
 * Headers: ETag (a hash of the content), Cache-Control (HTML must be
 * revalidated on every load, so a deploy shows at once; other files may
 * be reused for STATIC_MAX_AGE seconds and are then revalidated by ETag),
 * the Content-Security-Policy of API.md (no inline script, no other
 * origin), X-Content-Type-Options, Referrer-Policy and framing refused.
 */
#include "http/static.h"

#include <dirent.h>
#include <errno.h>
#include <event2/http.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "http/encoding.h"
#include "http/request.h"
#include "lib/crypto.h"
#include "lib/log.h"

#define STATIC_MAX_FILES 512
#define STATIC_MAX_FILE  (2u << 20)  /* bytes */
#define STATIC_MAX_TOTAL (16u << 20) /* bytes */
#define STATIC_MAX_DEPTH 8
#define STATIC_PATH_MAX  256
#define STATIC_MAX_AGE   "300"

static const char static_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'";

struct static_file {
    char *path; /* relative to the root, "shop/index.html" */
    char *data;
    size_t len;
    char *gz; /* gzip-coded, or NULL: not a text file, or no smaller */
    size_t gz_len;
    const char *type;
    bool html;
    bool text;     /* kept gzip-coded too: Vary: Accept-Encoding */
    char etag[20]; /* "\"" + 16 hex + "\"" */
    char gz_etag[23];
};

static struct static_file *static_files;
static size_t static_nfiles;
static size_t static_total;
static size_t static_gz_total; /* the text files as sent gzip-coded */

static const struct static_type {
    const char *ext, *type;
    bool text; /* worth coding with gzip */
} static_types[] = {
    {".html", "text/html; charset=utf-8", true},
    {".js", "text/javascript; charset=utf-8", true},
    {".mjs", "text/javascript; charset=utf-8", true},
    {".css", "text/css; charset=utf-8", true},
    {".json", "application/json", true},
    {".svg", "image/svg+xml", true},
    {".png", "image/png", false},
    {".ico", "image/x-icon", false},
    {".txt", "text/plain; charset=utf-8", true},
    {".webmanifest", "application/manifest+json", true},
};

/* The kind of a file name; NULL for a kind we do not serve. */
static const struct static_type *static_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof static_types / sizeof static_types[0]; i++)
        if (strcmp(dot, static_types[i].ext) == 0)
            return &static_types[i];
    return NULL;
}

/* data[0..len) gzip-coded into a new buffer (*out, *outlen), when that is
 * at most nine tenths of len; else *out stays NULL. false: out of memory
 * or a zlib failure. */
static bool static_gzip(const char *data, size_t len, char **out,
                        size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    z_stream z = {0};
    /* 15 + 16: a window of 32 KiB, with the gzip header and trailer */
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    uLong cap = deflateBound(&z, (uLong)len);
    unsigned char *buf = malloc(cap ? cap : 1);
    if (buf == NULL) {
        deflateEnd(&z);
        return false;
    }
    z.next_in = (Bytef *)(uintptr_t)data; /* zlib's input is not const */
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = (size_t)z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return false;
    }
    if (n > len / 10 * 9) {
        free(buf);
        return true;
    }
    *out = (char *)buf;
    *outlen = n;
    return true;
}

static bool static_add(const char *full, const char *rel,
                       const struct static_type *kind, char *err, size_t errlen)
{
    FILE *f = fopen(full, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", full, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
        (size_t)st.st_size > STATIC_MAX_FILE ||
        static_total + (size_t)st.st_size > STATIC_MAX_TOTAL ||
        static_nfiles >= STATIC_MAX_FILES) {
        fclose(f);
        snprintf(err, errlen, "%s: over the size limits of the web root", full);
        return false;
    }
    size_t len = (size_t)st.st_size;
    char *data = malloc(len ? len : 1);
    char *path = strdup(rel);
    if (data == NULL || path == NULL || fread(data, 1, len, f) != len) {
        free(data);
        free(path);
        fclose(f);
        snprintf(err, errlen, "%s: cannot read", full);
        return false;
    }
    fclose(f);
    unsigned char hash[CRYPTO_SHA256_LEN];
    char *gz = NULL;
    size_t gz_len = 0;
    if (!crypto_token_hash(data, len, hash) ||
        (kind->text && !static_gzip(data, len, &gz, &gz_len))) {
        free(data);
        free(path);
        snprintf(err, errlen, "%s: cannot hash or compress", full);
        return false;
    }
    struct static_file *sf = &static_files[static_nfiles++];
    sf->path = path;
    sf->data = data;
    sf->len = len;
    sf->gz = gz;
    sf->gz_len = gz_len;
    sf->type = kind->type;
    sf->html = strncmp(kind->type, "text/html", 9) == 0;
    sf->text = kind->text;
    char hex[17];
    crypto_hex_encode(hash, 8, hex);
    snprintf(sf->etag, sizeof sf->etag, "\"%s\"", hex);
    snprintf(sf->gz_etag, sizeof sf->gz_etag, "\"%s-gz\"", hex);
    static_total += len;
    static_gz_total += gz ? gz_len : (kind->text ? len : 0);
    return true;
}

/* Walks dir (rel is its path under the root, "" for the root). */
static bool static_walk(const char *root, const char *dir, const char *rel,
                        int depth, char *err, size_t errlen)
{
    if (depth > STATIC_MAX_DEPTH)
        return true;
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and dot-files are never served */
        char full[PATH_MAX], sub[PATH_MAX], real[PATH_MAX];
        if ((size_t)snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >=
                sizeof full ||
            (size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "",
                             e->d_name) >= STATIC_PATH_MAX)
            continue;
        /* A symlink is followed only when it lands inside the root. */
        if (realpath(full, real) == NULL)
            continue;
        size_t rootlen = strlen(root);
        if (strncmp(real, root, rootlen) != 0 || real[rootlen] != '/')
            continue;
        struct stat st;
        if (stat(real, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            ok = static_walk(root, full, sub, depth + 1, err, errlen);
        } else if (S_ISREG(st.st_mode)) {
            const struct static_type *kind = static_type_of(e->d_name);
            if (kind)
                ok = static_add(full, sub, kind, err, errlen);
        }
    }
    closedir(d);
    return ok;
}

static int static_cmp(const void *a, const void *b)
{
    return strcmp(((const struct static_file *)a)->path,
                  ((const struct static_file *)b)->path);
}

bool static_load(const char *root, char *err, size_t errlen)
{
    char real[PATH_MAX];
    if (realpath(root, real) == NULL) {
        log_warn("web: %s not found: serving the API only", root);
        return true;
    }
    static_files = calloc(STATIC_MAX_FILES, sizeof *static_files);
    if (static_files == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    if (!static_walk(real, real, "", 0, err, errlen)) {
        static_free();
        return false;
    }
    qsort(static_files, static_nfiles, sizeof *static_files, static_cmp);
    log_info("web: %zu files (%zu bytes; the text ones %zu gzip-coded) from %s",
             static_nfiles, static_total, static_gz_total, real);
    return true;
}

size_t static_count(void)
{
    return static_nfiles;
}

void static_free(void)
{
    for (size_t i = 0; i < static_nfiles; i++) {
        free(static_files[i].path);
        free(static_files[i].data);
        free(static_files[i].gz);
    }
    free(static_files);
    static_files = NULL;
    static_nfiles = 0;
    static_total = 0;
    static_gz_total = 0;
}

/* The file path under the root for a request path, into out; false when
 * the path is not one we could ever serve. */
static bool static_map(const char *path, char *out, size_t outlen)
{
    size_t n = strlen(path);
    if (n == 0 || n > STATIC_PATH_MAX || path[0] != '/')
        return false;
    /* every segment: non-empty (except the last, "dir/"), not dot-led,
     * of safe characters only */
    for (const char *s = path + 1; *s;) {
        size_t seg = strcspn(s, "/");
        if (seg == 0 || s[0] == '.')
            return false;
        for (size_t i = 0; i < seg; i++) {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
                return false;
        }
        s += seg;
        if (*s == '/')
            s++;
    }
    int w;
    if (strcmp(path, "/") == 0)
        w = snprintf(out, outlen, "shop/index.html");
    else if (path[n - 1] == '/')
        w = snprintf(out, outlen, "%sindex.html", path + 1);
    else
        w = snprintf(out, outlen, "%s", path + 1);
    return w > 0 && (size_t)w < outlen;
}

static const struct static_file *static_find(const char *rel)
{
    size_t lo = 0, hi = static_nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rel, static_files[mid].path);
        if (c == 0)
            return &static_files[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* If-None-Match holds etag (or "*"), as a comma-separated list of
 * entity tags, weak ones compared weakly as RFC 9110 asks for GET. */
static bool static_etag_matches(const char *header, const char *etag)
{
    if (header == NULL)
        return false;
    size_t elen = strlen(etag);
    const char *s = header;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (*s == '*')
            return true;
        if (s[0] == 'W' && s[1] == '/')
            s += 2;
        size_t len = strcspn(s, ",");
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len == elen && strncmp(s, etag, elen) == 0)
            return true;
        s += strcspn(s, ",");
    }
    return false;
}

void static_html_headers(struct req *r)
{
    req_add_header(r, "Cache-Control", "no-cache");
    req_add_header(r, "X-Content-Type-Options", "nosniff");
    req_add_header(r, "Referrer-Policy", "no-referrer");
    req_add_header(r, "Content-Security-Policy", static_csp);
    req_add_header(r, "X-Frame-Options", "DENY");
}

/* GET|HEAD /, /admin/, /<file> -> 200 file | 304 | 404 not_found */
void static_serve(struct req *r)
{
    char rel[STATIC_PATH_MAX + 16];
    const struct static_file *f = NULL;
    if ((r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD) &&
        strncmp(r->path, "/v1/", 4) != 0 &&
        static_map(r->path, rel, sizeof rel))
        f = static_find(rel);
    if (f == NULL) {
        req_reply_error(r, 404, "not_found", NULL, "No such resource.");
        return;
    }
    bool gz = f->gz != NULL &&
              encoding_accepts_gzip(req_header(r, "Accept-Encoding"));
    const char *etag = gz ? f->gz_etag : f->etag;
    req_add_header(r, "ETag", etag);
    if (f->text)
        req_add_header(r, "Vary", "Accept-Encoding");
    req_add_header(r, "Cache-Control",
                   f->html ? "no-cache" : "public, max-age=" STATIC_MAX_AGE);
    req_add_header(r, "X-Content-Type-Options", "nosniff");
    req_add_header(r, "Referrer-Policy", "no-referrer");
    if (f->html) {
        req_add_header(r, "Content-Security-Policy", static_csp);
        req_add_header(r, "X-Frame-Options", "DENY");
    }
    if (static_etag_matches(req_header(r, "If-None-Match"), etag)) {
        req_reply_raw(r, 304, NULL, NULL, 0);
        return;
    }
    if (gz) {
        req_add_header(r, "Content-Encoding", "gzip");
        req_reply_raw(r, 200, f->type, f->gz, f->gz_len);
        return;
    }
    req_reply_raw(r, 200, f->type, f->data, f->len);
}
