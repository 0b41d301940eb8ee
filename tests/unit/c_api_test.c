/* The C API from C, as an application (or the muxer) uses it, in phases.
 * Stops at the first failing check, naming its phase and line (exit 1);
 * exits 0 when every check passes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hlsbridge/hlsbridge.h"

static const char *phase = "";

static void start_phase(const char *name)
{
    fprintf(stderr, "=== %s\n", name);
    phase = name;
}

#define CHECK(cond)                                                     \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__,  \
                    __LINE__, phase, #cond);                            \
            exit(1);                                                    \
        }                                                               \
    } while (0)

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static int log_lines;
static void on_log(void *opaque, hlsbridge_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    if (strncmp(msg, "wrote ", 6) == 0)
        log_lines++;
}

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(data, f);
        fclose(f);
    }
}

/* The asynchronous path: segment files handed over, made durable and listed
 * by the publisher thread; a refused one and a discarded one removed. */
static void check_submit(const char *dir)
{
    char path[4200], files[4][4300];
    hlsbridge_playlist_options opts;
    hlsbridge_playlist *pl = NULL;
    hlsbridge_playlist_stats st;
    hlsbridge_segment seg;
    char *text;

    snprintf(path, sizeof(path), "%s/async/index.m3u8", dir);
    unlink(path);
    hlsbridge_playlist_options_init(&opts);
    CHECK(opts.fsync_segments == 1 && opts.max_queued_segments == 0);
    opts.path = path;
    opts.type = HLSBRIDGE_PLAYLIST_EVENT;
    opts.max_queued_segments = 2;
    start_phase("submit: segment files listed by the publisher thread");
    if (hlsbridge_playlist_open(&opts, &pl) != 0)
        fprintf(stderr, "open: %s\n", hlsbridge_last_open_error());
    CHECK(pl != NULL);
    for (int i = 0; i < 4; i++) {
        snprintf(files[i], sizeof(files[i]), "%s/async/s%d.ts", dir, i);
        write_file(files[i], "media");
    }

    memset(&seg, 0, sizeof(seg));
    seg.program_date_time_ms = HLSBRIDGE_NO_PDT;
    seg.uri = "s0.ts";
    seg.duration = 2.0;
    seg.file_path = files[0];
    CHECK(hlsbridge_playlist_submit_segment(pl, &seg) == 0);
    seg.uri = "s1.ts";
    seg.duration = -1.0;
    seg.file_path = files[1];
    CHECK(hlsbridge_playlist_submit_segment(pl, &seg) == -EINVAL);
    CHECK(strstr(hlsbridge_playlist_error(pl), "s1.ts") != NULL);
    CHECK(hlsbridge_playlist_discard_segment(pl, files[2]) == 0);
    CHECK(hlsbridge_playlist_discard_segment(pl, "") == -EINVAL);
    seg.uri = "s3.ts";
    seg.duration = 2.0;
    seg.file_path = files[3];
    CHECK(hlsbridge_playlist_submit_segment(pl, &seg) == 0);
    CHECK(hlsbridge_playlist_flush(pl) == 0);
    CHECK(hlsbridge_playlist_take_error(pl) == 0);

    text = read_file(path);
    CHECK(text && strcmp(text,
                         "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
                         "#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
                         "#EXTINF:2.000,\ns0.ts\n"
                         "#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\ns3.ts\n") == 0);
    free(text);
    CHECK(access(files[1], F_OK) != 0 && access(files[2], F_OK) != 0);
    CHECK(access(files[0], F_OK) == 0 && access(files[3], F_OK) == 0);

    CHECK(hlsbridge_playlist_get_stats(pl, &st) == 0);
    CHECK(st.segments_queued == 0 && st.segments_lost == 1);
    CHECK(st.publish_latency_samples == 2 && st.publish_latency_p50_us > 0);
    CHECK(st.publish_latency_p99_us <= st.publish_latency_max_us);

    start_phase("submit: URI from the file path, directory prepared");
    snprintf(files[0], sizeof(files[0]), "%s/async/sub/s4.ts", dir);
    CHECK(hlsbridge_playlist_prepare_dir(pl, "bad\nname.ts") == -EINVAL);
    CHECK(strstr(hlsbridge_playlist_error(pl), "control character") != NULL);
    CHECK(hlsbridge_playlist_prepare_dir(pl, files[0]) == 0);
    write_file(files[0], "media");
    seg.uri = NULL;
    seg.file_path = files[0];
    CHECK(hlsbridge_playlist_submit_segment(pl, &seg) == 0);

    start_phase("submit: finish lists what is still queued");
    seg.uri = "s0.ts";
    seg.file_path = NULL;
    CHECK(hlsbridge_playlist_submit_segment(pl, &seg) == 0);
    CHECK(hlsbridge_playlist_finish(pl) == 0);
    text = read_file(path);
    CHECK(text && strstr(text, "s3.ts\n#EXTINF:2.000,\nsub/s4.ts\n"
                               "#EXTINF:2.000,\ns0.ts\n#EXT-X-ENDLIST\n") != NULL);
    free(text);
    CHECK(hlsbridge_playlist_submit_segment(pl, &seg) == -EINVAL);
    hlsbridge_playlist_close(pl);
}

/* Adds a 2 s segment named uri. */
static void add_segment(hlsbridge_playlist *pl, const char *uri)
{
    hlsbridge_segment seg;

    memset(&seg, 0, sizeof(seg));
    seg.program_date_time_ms = HLSBRIDGE_NO_PDT;
    seg.uri = uri;
    seg.duration = 2.0;
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == 0);
}

/* fMP4: init sections through both ways, EXT-X-MAP, version 6. */
static void check_maps(const char *dir)
{
    char path[4200], init[4300], seg_path[4300];
    hlsbridge_playlist_options opts;
    hlsbridge_playlist *pl = NULL;
    hlsbridge_segment seg;
    char *text;

    start_phase("maps: set_map and submit_map");
    snprintf(path, sizeof(path), "%s/fmp4/index.m3u8", dir);
    unlink(path);
    hlsbridge_playlist_options_init(&opts);
    CHECK(opts.independent_segments == 0);
    opts.path = path;
    opts.type = HLSBRIDGE_PLAYLIST_VOD;
    opts.independent_segments = 1;
    CHECK(hlsbridge_playlist_open(&opts, &pl) == 0);
    CHECK(hlsbridge_playlist_set_map(pl, NULL, NULL) == -EINVAL);
    CHECK(hlsbridge_playlist_set_map(pl, "in\nit.mp4", NULL) == -EINVAL);
    CHECK(strstr(hlsbridge_playlist_error(pl), "init section") != NULL);
    CHECK(hlsbridge_playlist_set_map(pl, "init.mp4", NULL) == 0);
    add_segment(pl, "s0.m4s");
    CHECK(hlsbridge_playlist_write(pl) == 0);

    /* The URI of a submitted init file comes from its path. */
    snprintf(init, sizeof(init), "%s/fmp4/init_1.mp4", dir);
    snprintf(seg_path, sizeof(seg_path), "%s/fmp4/s1.m4s", dir);
    write_file(init, "moov");
    write_file(seg_path, "moof");
    CHECK(hlsbridge_playlist_submit_map(pl, NULL, init) == 0);
    memset(&seg, 0, sizeof(seg));
    seg.program_date_time_ms = HLSBRIDGE_NO_PDT;
    seg.duration = 2.0;
    seg.file_path = seg_path;
    seg.discontinuity = 1;
    CHECK(hlsbridge_playlist_submit_segment(pl, &seg) == 0);
    CHECK(hlsbridge_playlist_finish(pl) == 0);
    text = read_file(path);
    CHECK(text && strcmp(text,
                         "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                         "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n"
                         "#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.000,\ns0.m4s\n"
                         "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init_1.mp4\"\n"
                         "#EXTINF:2.000,\ns1.m4s\n#EXT-X-ENDLIST\n") == 0);
    free(text);
    hlsbridge_playlist_close(pl);
}

/* ABR ladders: var_stream_map, codec strings, a multivariant playlist
 * written once both media playlists exist, with their measured rates. */
static void check_ladder(const char *dir)
{
    static const uint8_t avcc[] = { 1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0x00, 0x1f, 1, 0, 0 };
    static const uint8_t asc[] = { 0x12, 0x10 };
    hlsbridge_stream_map map;
    hlsbridge_multivariant_options mo;
    hlsbridge_multivariant *mv = NULL;
    hlsbridge_playlist_options po;
    hlsbridge_playlist *pl[2] = { NULL, NULL };
    hlsbridge_rendition r;
    hlsbridge_segment seg;
    char text[256], path[4200], master[4200];
    char *out;

    start_phase("ladder: var_stream_map");
    CHECK(hlsbridge_stream_map_parse("v:0,agroup:aud a:0,agroup:aud,name:en,default:yes",
                                     &map, text, sizeof(text)) == 0);
    CHECK(map.nb_variants == 2 && map.variants[0].nb_streams == 1);
    CHECK(map.variants[0].streams[0].type == 'v' && map.variants[0].name == NULL);
    CHECK(strcmp(map.variants[1].name, "en") == 0 && map.variants[1].is_default);
    CHECK(strcmp(map.variants[1].agroup, "aud") == 0);
    hlsbridge_stream_map_free(&map);
    CHECK(map.variants == NULL && map.nb_variants == 0);
    CHECK(hlsbridge_stream_map_parse("v:0 q:1", &map, text, 16) == -EINVAL);
    CHECK(strcmp(text, "var_stream_map:") == 0); /* truncated to the buffer */

    start_phase("ladder: codec strings");
    CHECK(hlsbridge_codec_string(HLSBRIDGE_CODEC_H264, avcc, sizeof(avcc), 0, text,
                                 sizeof(text)) == 0);
    CHECK(strcmp(text, "avc1.64001F") == 0);
    CHECK(hlsbridge_codec_string(HLSBRIDGE_CODEC_AAC, asc, sizeof(asc), 0, text,
                                 sizeof(text)) == 0);
    CHECK(strcmp(text, "mp4a.40.2") == 0);
    CHECK(hlsbridge_codec_string(HLSBRIDGE_CODEC_AAC, NULL, 0, 5, text, sizeof(text)) == 0);
    CHECK(strcmp(text, "mp4a.40.5") == 0);
    CHECK(hlsbridge_codec_string(HLSBRIDGE_CODEC_H264, avcc, 2, 0, text, sizeof(text)) == -EINVAL);
    CHECK(strstr(text, "H.264") != NULL);
    CHECK(hlsbridge_codec_string(HLSBRIDGE_CODEC_H264, avcc, sizeof(avcc), 0, text, 5) == -ERANGE);

    start_phase("ladder: multivariant playlist");
    snprintf(master, sizeof(master), "%s/ladder/master.m3u8", dir);
    unlink(master);
    hlsbridge_multivariant_options_init(&mo);
    CHECK(mo.fsync_file == 1 && mo.fsync_dir == 1);
    CHECK(hlsbridge_multivariant_open(&mo, &mv) == -EINVAL && mv == NULL);
    CHECK(strstr(hlsbridge_last_open_error(), "path is empty") != NULL);
    mo.path = master;
    mo.independent_segments = 1;
    CHECK(hlsbridge_multivariant_open(&mo, &mv) == 0);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/ladder/%s/index.m3u8", dir, i ? "audio" : "video");
        unlink(path);
        hlsbridge_playlist_options_init(&po);
        po.path = path;
        po.type = HLSBRIDGE_PLAYLIST_EVENT;
        CHECK(hlsbridge_playlist_open(&po, &pl[i]) == 0);
    }
    memset(&r, 0, sizeof(r));
    r.playlist = pl[0];
    r.codecs = "avc1.64001F";
    r.declared_bandwidth = 1000000;
    r.width = 1280;
    r.height = 720;
    r.audio_group = "aud";
    CHECK(hlsbridge_multivariant_add(mv, &r) == 0);
    memset(&r, 0, sizeof(r));
    r.kind = HLSBRIDGE_RENDITION_AUDIO;
    r.playlist = pl[1];
    r.codecs = "mp4a.40.2";
    r.group_id = "aud";
    r.name = "English\"";
    CHECK(hlsbridge_multivariant_add(mv, &r) == -EINVAL);
    CHECK(strstr(hlsbridge_multivariant_error(mv), "NAME") != NULL);
    r.name = "English";
    r.is_default = 1;
    CHECK(hlsbridge_multivariant_add(mv, &r) == 0);
    CHECK(hlsbridge_multivariant_update(mv, HLSBRIDGE_MULTIVARIANT_IF_NEEDED) == 0);

    memset(&seg, 0, sizeof(seg));
    seg.uri = "v0.ts";
    seg.duration = 2.0;
    seg.size = 500000; /* 2 Mbit/s */
    CHECK(hlsbridge_playlist_add_segment(pl[0], &seg) == 0 && hlsbridge_playlist_write(pl[0]) == 0);
    CHECK(hlsbridge_multivariant_update(mv, HLSBRIDGE_MULTIVARIANT_IF_NEEDED) == 0);
    seg.uri = "a0.ts";
    seg.size = 32000; /* 128 kbit/s */
    CHECK(hlsbridge_playlist_add_segment(pl[1], &seg) == 0 && hlsbridge_playlist_write(pl[1]) == 0);
    CHECK(hlsbridge_multivariant_update(mv, HLSBRIDGE_MULTIVARIANT_IF_NEEDED) == 1);
    out = read_file(master);
    CHECK(out && strcmp(out, "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"English\",DEFAULT=YES,"
        "AUTOSELECT=YES,URI=\"audio/index.m3u8\"\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2128000,AVERAGE-BANDWIDTH=2128000,"
        "CODECS=\"avc1.64001F,mp4a.40.2\",RESOLUTION=1280x720,AUDIO=\"aud\"\n"
        "video/index.m3u8\n") == 0);
    free(out);
    CHECK(hlsbridge_multivariant_update(mv, HLSBRIDGE_MULTIVARIANT_IF_NEEDED) == 0);
    CHECK(hlsbridge_multivariant_update(mv, HLSBRIDGE_MULTIVARIANT_FINAL) == 1);
    hlsbridge_multivariant_close(mv);
    hlsbridge_multivariant_close(NULL);
    hlsbridge_playlist_close(pl[0]);
    hlsbridge_playlist_close(pl[1]);
}

/* Resume: a playlist continued by a second handle, as after a restart. */
static void check_resume(const char *dir)
{
    char path[4200], err[256];
    hlsbridge_playlist_options opts;
    hlsbridge_playlist *pl = NULL;
    hlsbridge_resume_info info;
    hlsbridge_segment seg;
    char *text;

    start_phase("resume: read_info and get_resume_info");
    snprintf(path, sizeof(path), "%s/resume/index.m3u8", dir);
    unlink(path);
    CHECK(hlsbridge_playlist_read_info(path, &info, err, sizeof(err)) == -ENOENT);
    hlsbridge_playlist_options_init(&opts);
    opts.path = path;
    opts.window_size = 2;
    opts.target_duration = 2;
    CHECK(hlsbridge_playlist_open(&opts, &pl) == 0);
    memset(&seg, 0, sizeof(seg));
    seg.duration = 2.0;
    seg.program_date_time_ms = 1000000;
    seg.uri = "a0.ts";
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == 0);
    seg.uri = "a1.ts";
    seg.program_date_time_ms = 1002000;
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == 0);
    CHECK(hlsbridge_playlist_write(pl) == 0);
    CHECK(hlsbridge_playlist_get_resume_info(pl, &info) == 0 && !info.resumed);
    hlsbridge_resume_info_free(&info);
    hlsbridge_playlist_close(pl);

    CHECK(hlsbridge_playlist_read_info(path, &info, err, sizeof(err)) == 0);
    CHECK(info.next_media_sequence == 2 && info.segments == 2 && !info.ended);
    CHECK(strcmp(info.last_uri, "a1.ts") == 0 && info.map_uri == NULL);
    CHECK(info.pdt_end_ms == 1004000);
    hlsbridge_resume_info_free(&info);
    CHECK(info.last_uri == NULL);

    opts.resume = 1;
    opts.start_sequence = 50; /* not used: the playlist goes on */
    CHECK(hlsbridge_playlist_open(&opts, &pl) == 0);
    CHECK(hlsbridge_playlist_get_resume_info(pl, &info) == 0);
    CHECK(info.resumed && info.next_media_sequence == 2 && info.target_duration == 2);
    hlsbridge_resume_info_free(&info);
    seg.uri = "b2.ts";
    seg.discontinuity = 1;
    seg.program_date_time_ms = HLSBRIDGE_NO_PDT;
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == 0);
    CHECK(hlsbridge_playlist_finish(pl) == 0);
    hlsbridge_playlist_close(pl);
    text = read_file(path);
    /* The window holds three target durations (RFC 8216 6.2.2): all three. */
    CHECK(text && strstr(text, "#EXT-X-MEDIA-SEQUENCE:0\n") != NULL);
    CHECK(strstr(text, "a1.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nb2.ts\n#EXT-X-ENDLIST\n") != NULL);
    free(text);

    /* Ended: refused unless resume_ended; the file is left as it was. */
    CHECK(hlsbridge_playlist_open(&opts, &pl) == -EINVAL && pl == NULL);
    CHECK(strstr(hlsbridge_last_open_error(), "EXT-X-ENDLIST") != NULL);
    CHECK(hlsbridge_playlist_read_info(path, &info, err, sizeof(err)) == 0 && info.ended);
    hlsbridge_resume_info_free(&info);
}

/* AES-128: key info file, hex, a written key file, EXT-X-KEY. */
static void check_keys(const char *dir)
{
    char path[4200], info_path[4300], key_path[4300], line[9000];
    hlsbridge_playlist_options opts;
    hlsbridge_playlist *pl = NULL;
    hlsbridge_key_info info;
    hlsbridge_key key;
    uint8_t iv[16];
    char *text;

    start_phase("keys: key info file, set_key");
    snprintf(path, sizeof(path), "%s/keys/index.m3u8", dir);
    snprintf(info_path, sizeof(info_path), "%s/keys/k.info", dir);
    snprintf(key_path, sizeof(key_path), "%s/keys/k.key", dir);
    unlink(path);
    hlsbridge_playlist_options_init(&opts);
    opts.path = path;
    opts.type = HLSBRIDGE_PLAYLIST_EVENT;
    CHECK(hlsbridge_playlist_open(&opts, &pl) == 0);
    CHECK(hlsbridge_playlist_write_file(pl, key_path, "0123456789abcdef", 16) == 0);
    snprintf(line, sizeof(line), "k.key\n%s\n000102030405060708090a0b0c0d0e0f\n", key_path);
    write_file(info_path, line);
    CHECK(hlsbridge_key_info_read(pl, info_path, &info) == 0);
    CHECK(strcmp(info.uri, "k.key") == 0 && info.has_iv && info.iv[15] == 15);
    CHECK(memcmp(info.key, "0123456789abcdef", 16) == 0);
    memset(&key, 0, sizeof(key));
    key.uri = info.uri;
    memcpy(key.iv, info.iv, 16);
    key.file_path = info.key_file;
    CHECK(hlsbridge_playlist_set_key(pl, &key) == 0);
    hlsbridge_key_info_free(&info);
    CHECK(info.uri == NULL && info.key[0] == 0);

    write_file(info_path, "k.key\n");
    CHECK(hlsbridge_key_info_read(pl, info_path, &info) == -EINVAL);
    CHECK(strstr(hlsbridge_playlist_error(pl), "k.info: line 2") != NULL);
    CHECK(hlsbridge_parse_hex16("0x00112233445566778899aabbccddeeff", iv) == 0 && iv[1] == 0x11);
    CHECK(hlsbridge_parse_hex16("0011", iv) == -EINVAL);
    key.uri = "bad\"uri";
    key.file_path = NULL; /* freed with info */
    CHECK(hlsbridge_playlist_set_key(pl, &key) == -EINVAL);

    add_segment(pl, "s0.ts");
    CHECK(hlsbridge_playlist_finish(pl) == 0);
    text = read_file(path);
    CHECK(text && strstr(text, "#EXT-X-KEY:METHOD=AES-128,URI=\"k.key\","
                               "IV=0x000102030405060708090A0B0C0D0E0F\n#EXTINF:2.000,\ns0.ts\n"));
    free(text);
    hlsbridge_playlist_close(pl);
}

/* A target that keeps objects in memory: the last put of each name. */
#define MAX_OBJECTS 16
static struct {
    char name[MAX_OBJECTS][512];
    char *data[MAX_OBJECTS];
    size_t size[MAX_OBJECTS];
    int count, puts, refuse_next;
} objects;

static int object_index(const char *name)
{
    for (int i = 0; i < objects.count; i++)
        if (!strcmp(objects.name[i], name))
            return i;
    return -1;
}

static hlsbridge_target_result mem_put(void *opaque, const char *name, const uint8_t *data,
                                       size_t size, char *why, size_t why_size)
{
    int i = object_index(name);
    (void)opaque;
    objects.puts++;
    if (objects.refuse_next) {
        objects.refuse_next = 0;
        snprintf(why, why_size, "HTTP 403 Forbidden");
        return HLSBRIDGE_TARGET_REFUSED;
    }
    if (i < 0) {
        CHECK(objects.count < MAX_OBJECTS);
        i = objects.count++;
        snprintf(objects.name[i], sizeof(objects.name[i]), "%s", name);
    }
    free(objects.data[i]);
    objects.data[i] = malloc(size + 1);
    memcpy(objects.data[i], data, size);
    objects.data[i][size] = '\0';
    objects.size[i] = size;
    return HLSBRIDGE_TARGET_DONE;
}

static hlsbridge_target_result mem_remove(void *opaque, const char *name, char *why,
                                          size_t why_size)
{
    int i = object_index(name);
    (void)opaque; (void)why; (void)why_size;
    if (i < 0)
        return HLSBRIDGE_TARGET_NOT_FOUND;
    free(objects.data[i]);
    objects.data[i] = NULL;
    objects.name[i][0] = '\0';
    return HLSBRIDGE_TARGET_DONE;
}

static hlsbridge_target_result mem_get(void *opaque, const char *name, uint8_t **data,
                                       size_t *size, char *why, size_t why_size)
{
    int i = object_index(name);
    (void)opaque; (void)why; (void)why_size;
    if (i < 0 || !objects.data[i])
        return HLSBRIDGE_TARGET_NOT_FOUND;
    *data = malloc(objects.size[i] + 1);
    memcpy(*data, objects.data[i], objects.size[i]);
    *size = objects.size[i];
    return HLSBRIDGE_TARGET_DONE;
}

static void check_target(void)
{
    hlsbridge_target_callbacks cb;
    hlsbridge_target *target = NULL;
    hlsbridge_playlist_options opts;
    hlsbridge_playlist *pl = NULL;
    hlsbridge_segment seg;
    hlsbridge_resume_info info;
    char *spool = NULL, path[1024], seg_path[1024], err[256];
    struct stat st;
    int i;

    start_phase("target: objects put through callbacks, the spool a private directory");
    memset(&cb, 0, sizeof(cb));
    cb.put = mem_put;
    cb.remove = mem_remove;
    CHECK(hlsbridge_target_open(&cb, &target) == -EINVAL);
    CHECK(strstr(hlsbridge_last_open_error(), "get callback") != NULL);
    cb.get = mem_get;
    cb.retry_seconds = 1;
    cb.durable = 1;
    CHECK(hlsbridge_target_open(&cb, &target) == 0);
    CHECK(hlsbridge_spool_create(NULL, &spool) == 0);
    CHECK(stat(spool, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);

    snprintf(path, sizeof(path), "%s/live/index.m3u8", spool);
    hlsbridge_playlist_options_init(&opts);
    opts.path = path;
    opts.window_size = 3;
    opts.target_duration = 2;
    opts.target = target;
    CHECK(hlsbridge_playlist_open(&opts, &pl) == 0);
    snprintf(seg_path, sizeof(seg_path), "%s/live/seg0.ts", spool);
    write_file(seg_path, "media");
    memset(&seg, 0, sizeof(seg));
    seg.file_path = seg_path;
    seg.duration = 2;
    seg.program_date_time_ms = HLSBRIDGE_NO_PDT;
    CHECK(hlsbridge_playlist_submit_segment(pl, &seg) == 0);
    CHECK(hlsbridge_playlist_finish(pl) == 0);
    i = object_index(seg_path);
    CHECK(i >= 0 && !strcmp(objects.data[i], "media"));
    CHECK(access(seg_path, F_OK) != 0);  /* no media left in the spool */
    i = object_index(path);
    CHECK(i >= 0 && strstr(objects.data[i], "seg0.ts\n#EXT-X-ENDLIST") != NULL);
    CHECK(access(path, F_OK) != 0);      /* the playlist is not written locally */

    /* A refusal fails the write with -EREMOTEIO, naming the object. */
    objects.refuse_next = 1;
    CHECK(hlsbridge_playlist_write(pl) == -EREMOTEIO);
    CHECK(strstr(hlsbridge_playlist_error(pl), "403") != NULL);
    hlsbridge_playlist_close(pl);

    CHECK(hlsbridge_playlist_read_info_from(target, path, &info, err, sizeof(err)) == 0);
    CHECK(info.ended && info.segments == 1 && !strcmp(info.last_uri, "seg0.ts"));
    hlsbridge_resume_info_free(&info);
    CHECK(mem_remove(NULL, path, err, sizeof(err)) == HLSBRIDGE_TARGET_DONE);
    CHECK(hlsbridge_playlist_read_info_from(target, path, &info, err, sizeof(err)) == -ENOENT);

    hlsbridge_target_close(target);
    CHECK(hlsbridge_spool_remove(spool) == 0);
    CHECK(stat(spool, &st) != 0);
    free(spool);
    for (i = 0; i < objects.count; i++)
        free(objects.data[i]);
}

int main(int argc, char **argv)
{
    char dir[4096], path[4200];
    hlsbridge_playlist_options opts;
    hlsbridge_playlist *pl = NULL;
    hlsbridge_playlist_stats st;
    hlsbridge_segment seg;
    char *text;
    int ret;

    snprintf(dir, sizeof(dir), "%s", argc > 1 ? argv[1] : "c_api_test.out");
    snprintf(path, sizeof(path), "%s/live/index.m3u8", dir);
    unlink(path);

    start_phase("version");
    CHECK(strcmp(hlsbridge_version(), "1.4.0") == 0);

    start_phase("open: options are checked");

    hlsbridge_playlist_options_init(&opts);
    CHECK(opts.fsync_file == 1 && opts.fsync_dir == 1);
    CHECK(hlsbridge_playlist_open(&opts, &pl) == -EINVAL);
    CHECK(pl == NULL);
    CHECK(strstr(hlsbridge_last_open_error(), "path is empty") != NULL);

    opts.path = path;
    opts.window_size = 3;
    opts.target_duration = 2.0;
    opts.log_callback = on_log;
    ret = hlsbridge_playlist_open(&opts, &pl);
    if (ret != 0)
        fprintf(stderr, "open: %s\n", hlsbridge_last_open_error());
    CHECK(ret == 0);

    start_phase("add and write: a live window");

    memset(&seg, 0, sizeof(seg));
    seg.uri = "seg 0.ts";
    seg.duration = 2.0;
    seg.program_date_time_ms = HLSBRIDGE_NO_PDT;
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == 0);
    seg.uri = "seg 1.ts";
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == 0);
    seg.uri = "seg1.ts";
    seg.discontinuity = 1;
    seg.program_date_time_ms = 1795498910284LL;
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == 0);
    seg.uri = "seg2.ts";
    seg.discontinuity = 0;
    seg.program_date_time_ms = HLSBRIDGE_NO_PDT;
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == 0);
    CHECK(hlsbridge_playlist_write(pl) == 0);

    text = read_file(path);
    CHECK(text != NULL);
    if (text) {
        CHECK(strcmp(text,
                     "#EXTM3U\n"
                     "#EXT-X-VERSION:3\n"
                     "#EXT-X-MEDIA-SEQUENCE:1\n"
                     "#EXT-X-TARGETDURATION:2\n"
                     "#EXTINF:2.000,\n"
                     "seg%201.ts\n"
                     "#EXT-X-DISCONTINUITY\n"
                     "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T05:41:50.284Z\n"
                     "#EXTINF:2.000,\n"
                     "seg1.ts\n"
                     "#EXTINF:2.000,\n"
                     "seg2.ts\n") == 0);
        free(text);
    }

    start_phase("bad input: an error code, a message naming it, nothing changed");
    seg.uri = "evil.ts\n#EXT-X-ENDLIST";
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == -EINVAL);
    CHECK(strstr(hlsbridge_playlist_error(pl), "control character") != NULL);
    seg.uri = "nan.ts";
    seg.duration = 0.0 / 0.0;
    CHECK(hlsbridge_playlist_add_segment(pl, &seg) == -EINVAL);
    CHECK(strstr(hlsbridge_playlist_error(pl), "nan.ts") != NULL);
    CHECK(hlsbridge_playlist_add_segment(pl, NULL) == -EINVAL);
    CHECK(hlsbridge_playlist_add_segment(NULL, &seg) == -EINVAL);

    start_phase("finish and stats");
    CHECK(hlsbridge_playlist_finish(pl) == 0);
    text = read_file(path);
    CHECK(text && strstr(text, "seg2.ts\n#EXT-X-ENDLIST\n") != NULL);
    free(text);

    CHECK(hlsbridge_playlist_get_stats(pl, &st) == 0);
    CHECK(st.writes_ok == 2 && st.writes_failed == 0);
    CHECK(st.media_sequence == 1 && st.discontinuity_sequence == 0);
    CHECK(st.segment_count == 3 && st.target_duration == 2 && st.finished);
    CHECK(st.last_success_unix_ms > 0);
    CHECK(log_lines == 2);
    hlsbridge_playlist_close(pl);
    hlsbridge_playlist_close(NULL);

    check_submit(dir);
    check_maps(dir);
    check_keys(dir);
    check_ladder(dir);
    check_resume(dir);
    check_target();

    printf("c_api_test: all checks passed\n");
    return 0;
}
