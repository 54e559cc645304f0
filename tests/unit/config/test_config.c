/* test_config.c - defaults, the file, environment overrides and the
 * errors that name the key, file and line; table-driven over files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "unit.h"

static char conf_path[64];

/* Writes text to a fresh temporary file; its path is conf_path. */
static void conf_write(const char *text)
{
    snprintf(conf_path, sizeof conf_path, "/tmp/gb-test-config-XXXXXX");
    int fd = mkstemp(conf_path);
    if (fd < 0) {
        perror("mkstemp");
        exit(2);
    }
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        perror("write");
        exit(2);
    }
    close(fd);
}

static bool conf_load(struct config *c, const char *text, char *err,
                      size_t errlen)
{
    conf_write(text);
    config_defaults(c);
    bool ok = config_load(c, conf_path, true, err, errlen);
    unlink(conf_path);
    return ok;
}

static void config_check_defaults(void)
{
    static struct config c;
    config_defaults(&c);
    CHECK_STR_EQ(c.listen_host, "127.0.0.1");
    CHECK_INT_EQ(c.listen_port, 8080);
    CHECK_INT_EQ(c.http_max_header_bytes, 8192);
    CHECK_INT_EQ(c.http_max_body_bytes, 65536);
    CHECK_INT_EQ(c.http_timeout_s, 10);
    CHECK_INT_EQ(c.db_pool_size, 8);
    CHECK_INT_EQ(c.db_reconnect_ms, 50);
    CHECK_INT_EQ(c.db_reconnect_max_ms, 2000);
    CHECK_INT_EQ(c.db_read_pool_size, 4);
    CHECK_INT_EQ(c.join_rounds, 4);
    CHECK_INT_EQ(c.join_patience_ms, 20);
    CHECK_STR_EQ(c.read_database_url, "");
    CHECK_INT_EQ(c.session_cache_ttl_ms, 2000);
    CHECK_INT_EQ(c.campaign_view_cache_ms, 100);
    CHECK_INT_EQ(c.password_iterations, 600000);
    CHECK_STR_EQ(c.platform_token, "");
    CHECK_STR_EQ(c.metrics_token, "");
    CHECK(c.log_level == LOG_INFO);
    CHECK(strstr(c.database_url, "/var/pg/sock") != NULL);
}

struct good_case {
    const char *text;
    const char *key; /* one effect to check */
    const char *want;
};

static const struct good_case good[] = {
    {"listen = 0.0.0.0:9000\n", "listen", "0.0.0.0:9000"},
    {"  listen=[::1]:80  \n", "listen", "[::1]:80"},
    {"# a comment\n\n   \ndb_pool_size = 16\n", "db_pool_size", "16"},
    {"http_timeout_s = 1\n", "http_timeout_s", "1"},
    {"log_level = debug\n", "log_level", "debug"},
    {"platform_token = s3cret\n", "platform_token", "***"},
    {"metrics_token = m3trics\n", "metrics_token", "***"},
    {"platform_token =\n", "platform_token", ""},
    {"database_url = postgresql://u:pw@h/db\n", "database_url",
     "postgresql://u:***@h/db"},
    {"database_url = host=h password=pw dbname=d\n", "database_url",
     "host=h password=*** dbname=d"},
    {"reliability_prior_beta = 2.5\n", "reliability_prior_beta", "2.5"},
    {"session_cache_ttl_ms = 0\n", "session_cache_ttl_ms", "0"},
    /* the read database's password is masked like the primary's */
    {"read_database_url = host=r password=pw dbname=d\n", "read_database_url",
     "host=r password=*** dbname=d"},
    {"db_reconnect_ms = 10\ndb_reconnect_max_ms = 10\n", "db_reconnect_max_ms",
     "10"},
    {"db_read_pool_size = 2\n", "db_read_pool_size", "2"},
    {"join_rounds = 4\n", "join_rounds", "4"},
    {"join_patience_ms = 0\n", "join_patience_ms", "0"},
    /* the origin of share links' og:url: a scheme and a host, no path */
    {"http.public_url = https://tuan.example.com\n", "http.public_url",
     "https://tuan.example.com"},
    {"http.public_url = http://[::1]:8080\n", "http.public_url",
     "http://[::1]:8080"},
    {"http.public_url =\n", "http.public_url", ""},
};

/* The value check-config shows for key. */
static const char *config_shown(const struct config *c, const char *key)
{
    static char buf[16384], val[1100];
    config_format(c, buf, sizeof buf);
    size_t klen = strlen(key);
    for (const char *p = buf; *p; p += strcspn(p, "\n") + 1) {
        if (strncmp(p, key, klen) == 0 && strncmp(p + klen, " = ", 3) == 0) {
            const char *v = p + klen + 3;
            snprintf(val, sizeof val, "%.*s", (int)strcspn(v, "\n"), v);
            return val;
        }
        if (strchr(p, '\n') == NULL)
            break;
    }
    return "(absent)";
}

struct bad_case {
    const char *text;
    const char *err; /* a part of the message */
};

static const struct bad_case bad[] = {
    {"nope = 1\n", ":1: unknown key \"nope\""},
    {"# x\n\nlisten = 127.0.0.1:1\nbogus_key = 2\n",
     ":4: unknown key \"bogus_key\""},
    /* a near miss names the key meant; a far one only says unknown */
    {"db_pol_size = 8\n",
     ":1: unknown key \"db_pol_size\" (did you mean \"db_pool_size\"?)"},
    {"sesion_ttl_s = 60\n", "(did you mean \"session_ttl_s\"?)"},
    {"LISTEN = h:1\n", "(did you mean \"listen\"?)"},
    {"zzzz_colour = 1\n", ":1: unknown key \"zzzz_colour\""},
    {"listen\n", ":1: expected \"key = value\""},
    {"db_pool_size = 0\n", ":1: bad value for \"db_pool_size\""},
    {"join_rounds = 0\n", "an integer from 1 to 64"},
    {"join_patience_ms = 60001\n", "an integer from 0 to 60000"},
    {"db_pool_size = 257\n", "an integer from 1 to 256"},
    {"db_pool_size = 8x\n", "bad value for \"db_pool_size\""},
    {"db_pool_size =\n", "bad value for \"db_pool_size\""},
    {"http_timeout_s = 99999999999999999999\n", "bad value"},
    {"listen = 8080\n", "expected host:port"},
    {"listen = :8080\n", "expected host:port"},
    {"listen = h:70000\n", "expected host:port"},
    {"log_level = loud\n", "one of debug, info, warn, error"},
    {"reliability_prior_beta = nan\n", "a finite decimal number"},
    {"reliability_prior_beta = 0\n", "\"reliability_prior_beta\""},
    /* a ceiling below the first pause would make the backoff shrink */
    {"db_reconnect_ms = 500\ndb_reconnect_max_ms = 100\n",
     "\"db_reconnect_max_ms\": expected at least db_reconnect_ms (500)"},
    {"db_read_pool_size = 0\n", "bad value for \"db_read_pool_size\""},
    {"http.public_url = https://x.example/s\n", "without a path"},
    {"http.public_url = ftp://x.example\n",
     "bad value for \"http.public_url\""},
    {"http.public_url = https://\n", "bad value for \"http.public_url\""},
    {"http.public_url = tuan.example.com\n",
     "bad value for \"http.public_url\""},
    {"http.public_url = https://a\"b.example\n",
     "bad value for \"http.public_url\""},
};

static void config_check_file(void)
{
    static struct config c;
    char err[512];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        err[0] = '\0';
        bool ok = conf_load(&c, good[i].text, err, sizeof err);
        CHECK_MSG(ok, "\"%s\": %s", good[i].text, err);
        if (ok)
            CHECK_STR_EQ(config_shown(&c, good[i].key), good[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        bool ok = conf_load(&c, bad[i].text, err, sizeof err);
        CHECK_MSG(!ok, "\"%s\" was accepted", bad[i].text);
        CHECK_MSG(strstr(err, bad[i].err) != NULL &&
                      strncmp(err, "/tmp/gb-test-config-", 20) == 0,
                  "\"%s\": \"%s\", want \"%s\" with the file", bad[i].text, err,
                  bad[i].err);
    }
    /* nothing near: no guess offered */
    err[0] = '\0';
    CHECK(!conf_load(&c, "zzzz_colour = 1\n", err, sizeof err));
    CHECK_MSG(strstr(err, "did you mean") == NULL, "%s", err);
}

static void config_check_missing_file(void)
{
    static struct config c;
    char err[512];
    config_defaults(&c);
    CHECK(
        config_load(&c, "/nonexistent/groupbuyd.conf", false, err, sizeof err));
    CHECK(
        !config_load(&c, "/nonexistent/groupbuyd.conf", true, err, sizeof err));
    CHECK(strstr(err, "/nonexistent/groupbuyd.conf") != NULL);
}

/* The environment overrides the file; a bad value there is named too. */
static void config_check_env(void)
{
    static struct config c;
    char err[512];
    setenv("GROUPBUYD_LISTEN", "10.0.0.1:81", 1);
    setenv("GROUPBUYD_METRICS_TOKEN", "from-env", 1);
    bool ok = conf_load(&c, "listen = 127.0.0.1:9\nmetrics_token = file\n", err,
                        sizeof err);
    CHECK_MSG(ok, "%s", err);
    CHECK_STR_EQ(c.listen_host, "10.0.0.1");
    CHECK_INT_EQ(c.listen_port, 81);
    CHECK_STR_EQ(c.metrics_token, "from-env");
    setenv("GROUPBUYD_LOG_LEVEL", "shouty", 1);
    ok = conf_load(&c, "", err, sizeof err);
    CHECK(!ok);
    CHECK(strstr(err, "GROUPBUYD_LOG_LEVEL") != NULL);
    unsetenv("GROUPBUYD_LISTEN");
    unsetenv("GROUPBUYD_METRICS_TOKEN");
    unsetenv("GROUPBUYD_LOG_LEVEL");
    /* file-only keys have no variable */
    setenv("GROUPBUYD_DB_POOL_SIZE", "99", 1);
    ok = conf_load(&c, "", err, sizeof err);
    CHECK(ok && c.db_pool_size == 8);
    unsetenv("GROUPBUYD_DB_POOL_SIZE");
}

int main(void)
{
    /* the test's own environment must not leak in */
    static const char *const vars[] = {
        "GROUPBUYD_LISTEN",         "GROUPBUYD_DATABASE_URL",
        "GROUPBUYD_PLATFORM_TOKEN", "GROUPBUYD_PAYMENT_WEBHOOK_SECRET",
        "GROUPBUYD_METRICS_TOKEN",  "GROUPBUYD_LOG_LEVEL",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    config_check_defaults();
    config_check_file();
    config_check_missing_file();
    config_check_env();
    return unit_summary("config");
}
