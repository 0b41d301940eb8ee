/*
 * hlsbridge: publication to an HTTP origin.
 *
 * This file is part of FFmpeg.
 *
 * FFmpeg is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * FFmpeg is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with FFmpeg; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA
 */

/*
 * An output URL "http://host:port/path/index.m3u8" is published to that
 * origin. Everything is first written to a private local spool that mirrors
 * the URL paths ("<spool>/path/index.m3u8"), so the rest of the muxer and the
 * core work on files as for a local output; the core's publication target
 * (hlsbridge_target) then puts each object to the origin, in the order and
 * with the retries the core decides, through FFmpeg's http protocol: PUT
 * (-method) with the request body whole (post_data), DELETE, and GET for
 * append_list. The callbacks run on the core's threads; each request has its
 * own connection unless http_persistent keeps idle ones for the next.
 */

#include <string.h>

#include "config.h"
#include "config_components.h"
#include "libavutil/avstring.h"
#include "libavutil/error.h"
#include "libavutil/mem.h"
#include "libavutil/opt.h"
#include "libavutil/thread.h"
#include "avformat.h"
#include "http.h"
#include "internal.h"
#include "url.h"
#include "hlsbridge_mux.h"

/* Largest object read back with GET (a playlist). */
#define HLSBRIDGE_MAX_GET (64 << 20)

static int is_http_url(const char *url)
{
    return url && (av_strstart(url, "http://", NULL) || av_strstart(url, "https://", NULL));
}

/* Length of "scheme://authority" at the start of url, 0 when there is no
 * path after it. */
static size_t origin_length(const char *url)
{
    const char *p = strstr(url, "://");
    const char *slash = p ? strchr(p + 3, '/') : NULL;

    return slash ? (size_t)(slash - url) : 0;
}

/* The spool path of a URL of the origin, or NULL (with the reason logged,
 * naming `what`) for one that is not: another origin, a query, a dot
 * segment that would leave the spool. */
static char *spool_path(AVFormatContext *s, const char *what, const char *url)
{
    HLSBridgeContext *c = s->priv_data;
    size_t n = strlen(c->origin.base);
    const char *path = url + n;

    if (strncmp(url, c->origin.base, n) || *path != '/') {
        av_log(s, AV_LOG_ERROR, "%s '%s': with an HTTP output every file goes to "
               "the same origin, %s/...\n", what, url, c->origin.base);
        return NULL;
    }
    if (strpbrk(path, "?#") || strstr(path, "/../") || strstr(path, "/./") ||
        av_strstart(path + strlen(path) - FFMIN(strlen(path), 3), "/..", NULL)) {
        av_log(s, AV_LOG_ERROR, "%s '%s': a URL with a query, a fragment or a "
               "'.'/'..' segment is not supported for publication\n", what, url);
        return NULL;
    }
    return av_asprintf("%s%s", c->origin.spool, path);
}

/* The URL of a spool path (the name the core gives an object). */
static char *url_of(const HLSBridgeContext *c, const char *name)
{
    size_t n = strlen(c->origin.spool);

    if (strncmp(name, c->origin.spool, n) || name[n] != '/')
        return NULL;
    return av_asprintf("%s%s", c->origin.base, name + n);
}

static void say(char *why, size_t size, const char *url, int err)
{
    snprintf(why, size, "%s: %s", url, av_err2str(err));
}

/* What a failed request comes to: HTTP statuses that will not heal are
 * refusals (404 only for a put: for get and remove it means "none"). */
static hlsbridge_target_result result_of(int err, int is_put)
{
    switch (err) {
    case AVERROR_HTTP_NOT_FOUND:
        return is_put ? HLSBRIDGE_TARGET_REFUSED : HLSBRIDGE_TARGET_NOT_FOUND;
    case AVERROR_HTTP_BAD_REQUEST:
    case AVERROR_HTTP_UNAUTHORIZED:
    case AVERROR_HTTP_FORBIDDEN:
    case AVERROR_HTTP_OTHER_4XX:
    case AVERROR_EXIT:            /* ffmpeg is being interrupted */
    case AVERROR_PROTOCOL_NOT_FOUND:
    case AVERROR(EINVAL):
    case AVERROR(ENOMEM):
        return HLSBRIDGE_TARGET_REFUSED;
    default:                      /* 5xx, 429, refused connection, timeout... */
        return HLSBRIDGE_TARGET_RETRY;
    }
}

static void request_options(const HLSBridgeContext *c, AVDictionary **opts,
                            const char *method)
{
    av_dict_set(opts, "method", method, 0);
    if (c->hls.headers)
        av_dict_set(opts, "headers", c->hls.headers, 0);
    if (c->hls.http_user_agent)
        av_dict_set(opts, "user_agent", c->hls.http_user_agent, 0);
    av_dict_set_int(opts, "rw_timeout", c->origin.timeout, 0);
    av_dict_set_int(opts, "timeout", c->origin.timeout, 0);
    av_dict_set_int(opts, "reconnect", 0, 0);
    /* Connection: keep-alive rather than close. */
    av_dict_set_int(opts, "multiple_requests", c->origin.persistent, 0);
    /* No Range header on a GET or DELETE. */
    av_dict_set_int(opts, "seekable", 0, 0);
}

/* An idle connection kept by http_persistent, or NULL. */
static URLContext *take_idle(HLSBridgeContext *c)
{
    URLContext *h = NULL;

    ff_mutex_lock(&c->origin.lock);
    if (c->origin.nb_idle)
        h = c->origin.idle[--c->origin.nb_idle];
    ff_mutex_unlock(&c->origin.lock);
    return h;
}

static void keep_or_close(HLSBridgeContext *c, URLContext *h)
{
    ff_mutex_lock(&c->origin.lock);
    if (c->origin.persistent && c->origin.nb_idle < FF_ARRAY_ELEMS(c->origin.idle)) {
        c->origin.idle[c->origin.nb_idle++] = h;
        h = NULL;
    }
    ff_mutex_unlock(&c->origin.lock);
    ffurl_closep(&h);
}

/* One request on a new connection: the body (NULL for none) is sent
 * whole with a Content-Length, and the answer's status read before this
 * returns. */
static int new_request(AVFormatContext *s, URLContext **h, const char *url,
                       const char *method, int flags, const uint8_t *body, size_t size)
{
    HLSBridgeContext *c = s->priv_data;
    AVDictionary *opts = NULL;
    int ret;

    if ((ret = ffurl_alloc(h, url, flags, &s->interrupt_callback)) < 0)
        return ret;
    request_options(c, &opts, method);
    if (s->protocol_whitelist)
        av_dict_set(&opts, "protocol_whitelist", s->protocol_whitelist, 0);
    if (s->protocol_blacklist)
        av_dict_set(&opts, "protocol_blacklist", s->protocol_blacklist, 0);
    /* As ffurl_open_whitelist() does, with the body set in between. */
    if ((ret = av_opt_set_dict(*h, &opts)) >= 0 &&
        (ret = av_opt_set_dict((*h)->priv_data, &opts)) >= 0 &&
        (!body || (ret = av_opt_set_bin((*h)->priv_data, "post_data", body, size, 0)) >= 0))
        ret = ffurl_connect(*h, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        ffurl_closep(h);
    return ret;
}

/* The same request on a kept connection: -1 when there is none that can
 * take it (the caller opens a new one). */
static int reuse_request(HLSBridgeContext *c, URLContext **h, const char *url,
                         const char *method, const uint8_t *body, size_t size)
{
    AVDictionary *opts = NULL;
    int ret;

    if (!(*h = take_idle(c)))
        return -1;
#if CONFIG_HTTP_PROTOCOL
    request_options(c, &opts, method);
    ret = av_opt_set_bin((*h)->priv_data, "post_data", body, size, 0);
    if (ret >= 0)
        ret = ff_http_do_new_request2(*h, url, &opts);
    av_dict_free(&opts);
#else
    ret = AVERROR(ENOSYS);
#endif
    if (ret < 0) {
        /* The origin closed it meanwhile, or it cannot be reused: a new
         * one decides. */
        ffurl_closep(h);
        return -1;
    }
    return ret;
}

static hlsbridge_target_result origin_put(void *opaque, const char *name, const uint8_t *data,
                                          size_t size, char *why, size_t why_size)
{
    AVFormatContext *s  = opaque;
    HLSBridgeContext *c = s->priv_data;
    char *url           = url_of(c, name);
    URLContext *h       = NULL;
    int ret;

    if (!url) {
        snprintf(why, why_size, "'%s' is not in the spool of %s", name, c->origin.base);
        return HLSBRIDGE_TARGET_REFUSED;
    }
    if (size > INT_MAX) {
        snprintf(why, why_size, "%s: %zu bytes are more than one request can carry", url, size);
        av_free(url);
        return HLSBRIDGE_TARGET_REFUSED;
    }
    /* Without a body the http protocol would stream a chunked one and
     * never read the answer. */
    if (!size) {
        snprintf(why, why_size, "%s: an empty object is not published", url);
        av_free(url);
        return HLSBRIDGE_TARGET_REFUSED;
    }
    ret = reuse_request(c, &h, url, c->origin.method, data, size);
    if (ret < 0)
        ret = new_request(s, &h, url, c->origin.method, AVIO_FLAG_READ_WRITE, data, size);
    if (ret < 0) {
        say(why, why_size, url, ret);
        av_free(url);
        return result_of(ret, 1);
    }
    av_log(s, AV_LOG_DEBUG, "%s %s: %zu bytes\n", c->origin.method, url, size);
    keep_or_close(c, h);
    av_free(url);
    return HLSBRIDGE_TARGET_DONE;
}

static hlsbridge_target_result origin_remove(void *opaque, const char *name, char *why,
                                             size_t why_size)
{
    AVFormatContext *s  = opaque;
    HLSBridgeContext *c = s->priv_data;
    char *url           = url_of(c, name);
    URLContext *h       = NULL;
    int ret;

    if (!url) {
        snprintf(why, why_size, "'%s' is not in the spool of %s", name, c->origin.base);
        return HLSBRIDGE_TARGET_REFUSED;
    }
    ret = new_request(s, &h, url, "DELETE", AVIO_FLAG_READ, NULL, 0);
    ffurl_closep(&h);
    if (ret < 0)
        say(why, why_size, url, ret);
    else
        av_log(s, AV_LOG_DEBUG, "DELETE %s\n", url);
    av_free(url);
    return ret < 0 ? result_of(ret, 0) : HLSBRIDGE_TARGET_DONE;
}

static int read_all(URLContext *h, uint8_t **data, size_t *size)
{
    AVIOContext *pb;
    int ret = avio_open_dyn_buf(&pb);
    uint8_t buf[16384];

    if (ret < 0)
        return ret;
    for (;;) {
        int n = ffurl_read(h, buf, sizeof(buf));
        if (n == AVERROR_EOF || n == 0)
            break;
        if (n < 0) {
            ret = n;
            break;
        }
        avio_write(pb, buf, n);
        if (avio_tell(pb) > HLSBRIDGE_MAX_GET) {
            ret = AVERROR(EFBIG);
            break;
        }
    }
    {
        uint8_t *buffer;
        int len = avio_close_dyn_buf(pb, &buffer);
        if (ret >= 0 && (*data = malloc(len ? len : 1))) {
            memcpy(*data, buffer, len);
            *size = len;
        } else if (ret >= 0) {
            ret = AVERROR(ENOMEM);
        }
        av_free(buffer);
    }
    return ret;
}

static hlsbridge_target_result origin_get(void *opaque, const char *name, uint8_t **data,
                                          size_t *size, char *why, size_t why_size)
{
    AVFormatContext *s  = opaque;
    HLSBridgeContext *c = s->priv_data;
    char *url           = url_of(c, name);
    URLContext *h       = NULL;
    int ret;

    if (!url) {
        snprintf(why, why_size, "'%s' is not in the spool of %s", name, c->origin.base);
        return HLSBRIDGE_TARGET_REFUSED;
    }
    ret = new_request(s, &h, url, "GET", AVIO_FLAG_READ, NULL, 0);
    if (ret >= 0)
        ret = read_all(h, data, size);
    ffurl_closep(&h);
    if (ret < 0)
        say(why, why_size, url, ret);
    av_free(url);
    return ret < 0 ? result_of(ret, 0) : HLSBRIDGE_TARGET_DONE;
}

int ff_hlsbridge_object_exists(AVFormatContext *s, const char *path)
{
    HLSBridgeContext *c = s->priv_data;
    uint8_t *data = NULL;
    size_t size;
    char why[256];
    hlsbridge_target_result r;

    if (!c->origin.target)
        return avio_check(path, AVIO_FLAG_READ) >= 0;
    r = origin_get(s, path, &data, &size, why, sizeof(why));
    free(data);
    return r != HLSBRIDGE_TARGET_NOT_FOUND;
}

/* The options of an HTTP output, refused by name for a local one. */
static int check_local_output(AVFormatContext *s)
{
    static const char *const http_only[] = {
        "method", "headers", "http_user_agent", "http_persistent", "timeout",
        "http_retry_time", "http_queue_size", "http_spool_dir",
    };
    HLSBridgeContext *c = s->priv_data;

    for (int i = 0; i < FF_ARRAY_ELEMS(http_only); i++)
        if (av_opt_is_set_to_default_by_name(c, http_only[i], 0) == 0) {
            av_log(s, AV_LOG_ERROR, "%s: applies to an HTTP output "
                   "(http://host/path/index.m3u8); '%s' is written to the local "
                   "file system\n", http_only[i], s->url);
            return AVERROR(EINVAL);
        }
    return 0;
}

/* s->url and the URL options become spool paths. */
static int map_to_spool(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    char *path;

    if (!(path = spool_path(s, "Output", s->url)))
        return AVERROR(EINVAL);
    /* Until the end of hlsbridge_init(), which alone reads s->url. */
    c->origin.url = s->url;
    s->url        = path;
    if (c->segment_filename) {
        if (!(path = spool_path(s, "hls_segment_filename", c->segment_filename)))
            return AVERROR(EINVAL);
        av_free(c->segment_filename);
        c->segment_filename = path;
    }
    if (c->init_filename && strstr(c->init_filename, "://")) {
        if (!(path = spool_path(s, "hls_fmp4_init_filename", c->init_filename)))
            return AVERROR(EINVAL);
        av_free(c->init_filename);
        c->init_filename = path;
    }
    if (c->master_pl_name && strstr(c->master_pl_name, "://")) {
        av_log(s, AV_LOG_ERROR, "master_pl_name '%s': a name beside the variants' "
               "playlists, not a URL\n", c->master_pl_name);
        return AVERROR(EINVAL);
    }
    return 0;
}

static int open_target(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_target_callbacks cb = {
        .opaque        = s,
        .put           = origin_put,
        .remove        = origin_remove,
        .get           = origin_get,
        .retry_seconds = c->origin.retry_time / (double)AV_TIME_BASE,  /* <= 0: 30 s */
        .durable       = 1,
        .log_callback  = ff_hlsbridge_core_log,
        .log_opaque    = s,
    };
    int ret = hlsbridge_spool_create(c->origin.spool_parent, &c->origin.spool);

    if (ret < 0) {
        av_log(s, AV_LOG_ERROR, "http_spool_dir: %s\n", hlsbridge_last_open_error());
        return ret;
    }
    if ((ret = hlsbridge_target_open(&cb, &c->origin.target)) < 0)
        av_log(s, AV_LOG_ERROR, "%s\n", hlsbridge_last_open_error());
    return ret;
}

av_cold int ff_hlsbridge_open_origin(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    size_t n;
    int ret;

    if (!is_http_url(s->url))
        return check_local_output(s);
    if (!(n = origin_length(s->url))) {
        av_log(s, AV_LOG_ERROR, "Output '%s': the playlist needs a path on the "
               "origin, e.g. http://host:port/live/index.m3u8\n", s->url);
        return AVERROR(EINVAL);
    }
    c->origin.method = c->hls.method ? c->hls.method : "PUT";
    if (!*c->origin.method || strcspn(c->origin.method, " \r\n\t") != strlen(c->origin.method)) {
        av_log(s, AV_LOG_ERROR, "method '%s': an HTTP method such as PUT\n", c->origin.method);
        return AVERROR(EINVAL);
    }
    c->origin.persistent = c->hls.http_persistent != 0;
    if (c->origin.retry_time >= 0 && c->origin.retry_time < AV_TIME_BASE / 10) {
        av_log(s, AV_LOG_ERROR, "http_retry_time must be at least 0.1 s\n");
        return AVERROR(EINVAL);
    }
    c->origin.timeout    = c->hls.timeout > 0 ? c->hls.timeout : 5 * AV_TIME_BASE;
    if (ff_mutex_init(&c->origin.lock, NULL))
        return AVERROR(ENOMEM);
    c->origin.lock_inited = 1;
    if (!(c->origin.base = av_strndup(s->url, n)))
        return AVERROR(ENOMEM);
    if ((ret = open_target(s)) < 0 || (ret = map_to_spool(s)) < 0)
        return ret;
    av_log(s, AV_LOG_VERBOSE, "Publishing to %s through the spool %s\n",
           c->origin.base, c->origin.spool);
    return 0;
}

av_cold void ff_hlsbridge_show_url(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;

    if (!c->origin.url)
        return;
    av_free(s->url);
    s->url        = c->origin.url;
    c->origin.url = NULL;
}

av_cold void ff_hlsbridge_close_origin(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;

    ff_hlsbridge_show_url(s);
    hlsbridge_target_close(c->origin.target);
    c->origin.target = NULL;
    if (c->origin.spool && hlsbridge_spool_remove(c->origin.spool) < 0)
        av_log(s, AV_LOG_WARNING, "Cannot remove the spool '%s'\n", c->origin.spool);
    free(c->origin.spool);
    c->origin.spool = NULL;
    while (c->origin.nb_idle)
        ffurl_closep(&c->origin.idle[--c->origin.nb_idle]);
    if (c->origin.lock_inited)
        ff_mutex_destroy(&c->origin.lock);
    c->origin.lock_inited = 0;
    av_freep(&c->origin.base);
}
