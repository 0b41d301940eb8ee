/*
 * HLS media playlist muxer over the segment muxer and libhlsbridge
 *
 * This file is part of hlsbridge; it is compiled inside FFmpeg's libavformat.
 *
 * It is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * It is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with FFmpeg; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA
 */

/**
 * @file
 * HLS muxer whose playlist is rewritten atomically and durably.
 *
 * The segment files are written by a nested "segment" muxer. Its I/O goes
 * through io_open/io_close2 callbacks of this muxer, which open the files with
 * the outer context's io_open (so the application's callbacks and protocol
 * whitelists apply) and learn from the close of each file that a segment is
 * complete. Only then is the segment handed to libhlsbridge, whose publisher
 * thread makes the file durable and rewrites the playlist (temp file, fsync,
 * rename, directory fsync) while packets go on flowing here: this muxer
 * never waits for a disk, and never syncs, renames or removes a file itself.
 *
 * Segment durations are measured here, cut to cut on the reference stream,
 * rather than taken from segment.c's list, whose times start at 0 whatever the
 * first timestamp, leave gaps with open-GOP B-frames and miss the duration of
 * the last frame.
 */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include <hlsbridge/hlsbridge.h>

#include "libavutil/avstring.h"
#include "libavutil/bprint.h"
#include "libavutil/dict.h"
#include "libavutil/intreadwrite.h"
#include "libavutil/mathematics.h"
#include "libavutil/mem.h"
#include "libavutil/opt.h"
#include "libavutil/random_seed.h"
#include "libavutil/time.h"
#include "libavutil/time_internal.h"
#include "libavutil/timestamp.h"

#include "libavcodec/avcodec.h"

#include "avformat.h"
#include "avio.h"
#include "hlsbridge_mux.h"
#include "internal.h"
#include "mux.h"

/* A new segment: no reference packet in it yet. */
static void segment_reset(HLSBridgeSegment *seg)
{
    seg->has_ref = 0;
    seg->acc     = 0;
}

/*
 * Media time of the segment so far, in ref_tb; 0 before its first reference
 * packet. Cut to cut: a reference packet being forwarded ends it at its pts,
 * unless it starts a discontinuity, whose gap belongs to no segment;
 * otherwise it ends where its last run ends.
 */
static int64_t segment_duration(const HLSBridgeSegment *seg,
                                const HLSBridgePacket *pkt)
{
    if (!seg->has_ref)
        return 0;
    if (pkt->in_flight && pkt->is_ref && !pkt->jump)
        return seg->acc + pkt->pts - seg->run_start;
    return seg->acc + seg->run_end - seg->run_start;
}

void ff_hlsbridge_core_log(void *opaque, hlsbridge_log_level level, const char *msg)
{
    int av_level;
    size_t len = strlen(msg);

    switch (level) {
    case HLSBRIDGE_LOG_ERROR:   av_level = AV_LOG_ERROR;   break;
    case HLSBRIDGE_LOG_WARNING: av_level = AV_LOG_WARNING; break;
    /* One line per playlist write: verbose, like the hls muxer's own. */
    case HLSBRIDGE_LOG_INFO:    av_level = AV_LOG_VERBOSE; break;
    default:                    av_level = AV_LOG_DEBUG;   break;
    }
    av_log(opaque, av_level, "%s%s", msg,
           len && msg[len - 1] == '\n' ? "" : "\n");
}

/* Path on the local file system for a URL of the file protocol, else NULL. */
const char *ff_hlsbridge_local_path(const char *url)
{
    const char *proto = avio_find_protocol_name(url);
    const char *path  = url;

    if (!proto || strcmp(proto, "file"))
        return NULL;
    av_strstart(url, "file:", &path);
    return path;
}

/*
 * URI of a segment that is no local file (an application's own I/O), where
 * only the name is meaningful. A local file gets its URI from the core,
 * relative to the playlist (see publish_segment()).
 */
static char *remote_segment_uri(const char *url)
{
    return av_strdup(av_basename(url));
}

/* Hands a file that will not be listed to the core, which removes it
 * after the segments handed over before it and marks the next listed
 * segment with a discontinuity; this muxer marks the next one for a
 * segment that is no local file. */
static void discard_file(HLSBridgeVariant *v, const char *url)
{
    const char *path = ff_hlsbridge_local_path(url);

    if (path && hlsbridge_playlist_discard_segment(v->pl, path) < 0)
        av_log(v->s, AV_LOG_WARNING, "Cannot remove '%s': %s\n", path,
               hlsbridge_playlist_error(v->pl));
    /* The core marks the next segment it lists; a file it does not know of
     * is marked here, at the next segment opened. */
    if (!path)
        v->discont_pending = 1;
}

static void commit_segments(AVFormatContext *s, enum HLSBridgeCommit mode);

/* Frees what a queued entry holds. */
static void free_done(HLSBridgeDone *d)
{
    av_freep(&d->url);
    av_freep(&d->key_file);
}

/* Takes the oldest queued entry of v into *d. */
static void pop_done(HLSBridgeVariant *v, HLSBridgeDone *d)
{
    *d = v->done[0];
    memmove(v->done, v->done + 1, --v->nb_done * sizeof(*v->done));
}

/*
 * Queues an entry for v's playlist core (see HLSBridgeDone): a copy of
 * *what, with url (and key_file) copied, then publishes what every
 * variant has decided.
 */
static void queue_done(HLSBridgeVariant *v, const HLSBridgeDone *what,
                       const char *url, const char *key_file)
{
    HLSBridgeContext *c = v->s->priv_data;
    HLSBridgeDone *d;

    /* A variant that waits for the others this long lets them go on. */
    for (int k = 0; k < HLSBRIDGE_MAX_DONE && v->nb_done == HLSBRIDGE_MAX_DONE; k++)
        commit_segments(v->s, HLSBRIDGE_COMMIT_WITHOUT);
    if (v->nb_done == HLSBRIDGE_MAX_DONE) {
        c->err = AVERROR_BUG;
        return;
    }
    d           = &v->done[v->nb_done];
    *d          = *what;
    d->url      = av_strdup(url);
    d->key_file = key_file ? av_strdup(key_file) : NULL;
    if (!d->url || (key_file && !d->key_file)) {
        free_done(d);
        c->err = AVERROR(ENOMEM);
        return;
    }
    v->nb_done++;
    commit_segments(v->s, HLSBRIDGE_COMMIT_WAIT);
}

/*
 * A segment that will not be listed, in any variant: its file is removed
 * once the segments before it are handed over, and the next listed segment
 * starts a discontinuity.
 */
static void lose_segment(HLSBridgeVariant *v, int64_t n, const char *url)
{
    HLSBridgeDone lost = { .kind = HLSBRIDGE_DONE_SEGMENT, .number = n, .lost = 1 };

    v->discont_pending = 1;
    queue_done(v, &lost, url, NULL);
}

/* Wall clock in Unix milliseconds. */
static int64_t wall_ms(void)
{
    return av_gettime() / 1000;
}

/*
 * Takes the failure that the core's publisher met since the last call, if
 * any. A segment that could not be made durable, a playlist write that
 * failed: the core logged it and recovers (report_publication() counts them
 * at the end); only a lack of memory stops the stream. An init section that
 * could not be made durable is the one failure the muxer must act on: the
 * core lists none of the segments that need it, so the next reference key
 * packet starts a segment muxer, with a new one.
 */
static void take_publish_errors(HLSBridgeVariant *v)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_playlist_stats st;
    int ret = hlsbridge_playlist_take_error(v->pl);

    if (ret == AVERROR(ENOMEM))
        c->err = AVERROR(ENOMEM);
    /* An origin that refused (a 4xx) will not take what follows either. */
    if (ret == AVERROR(EREMOTEIO) && c->err >= 0) {
        av_log(s, AV_LOG_ERROR, "The origin refused an upload (the message above "
               "names the URL and the status); the stream stops\n");
        c->err = ret;
    }
    if (ret >= 0 || hlsbridge_playlist_get_stats(v->pl, &st) < 0)
        return;
    /* A key the core could not make durable is handed over again before
     * the next segment; the segments in between are lost. */
    if (st.keys_lost != v->enc.keys_lost) {
        v->enc.keys_lost = st.keys_lost;
        v->enc.dirty     = 1;
    }
    if (st.maps_lost == v->maps_lost)
        return;
    v->maps_lost       = st.maps_lost;
    v->discont_pending = 1;
    if (v->state == HLSBRIDGE_WRITING) {
        av_log(s, AV_LOG_WARNING, "The init section was lost; segments start "
               "again with a new one at the next key frame\n");
        v->state = HLSBRIDGE_RESTARTING;
    }
}

/*
 * Hands a closed segment file to the core, which makes it durable, lists it
 * and publishes the playlist on its own thread. A refused segment (too short,
 * a date-time out of range) does not end the stream: the core removes its
 * file, and the next segment starts a discontinuity.
 */
static void publish_segment(HLSBridgeVariant *v, const HLSBridgeDone *d, int discont)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_segment seg = { 0 };
    char *uri = NULL;
    int ret;

    /* The core names a local file relative to the playlist itself. */
    seg.file_path = ff_hlsbridge_local_path(d->url);
    if (!seg.file_path && !(uri = remote_segment_uri(d->url))) {
        c->err = AVERROR(ENOMEM);
        return;
    }
    seg.uri                  = uri;
    seg.duration             = d->duration;
    seg.discontinuity        = discont;
    seg.program_date_time_ms = d->pdt_ms;
    seg.size                 = d->size;

    ret = hlsbridge_playlist_submit_segment(v->pl, &seg);
    if (ret == AVERROR(ENOMEM)) {
        c->err = ret;
    } else if (ret < 0) {
        av_log(s, AV_LOG_ERROR, "Cannot list segment '%s': %s\n",
               d->url, hlsbridge_playlist_error(v->pl));
        av_log(s, AV_LOG_ERROR, "Segment '%s' is not published; the next one "
               "starts a discontinuity\n", d->url);
        v->discont_pending = 1;
    } else {
        av_log(s, AV_LOG_VERBOSE, "Segment '%s' complete: %.6f s%s\n",
               d->url, seg.duration, seg.discontinuity ? ", discontinuity" : "");
    }
    av_free(uri);
    take_publish_errors(v);
}

/* Variant v will close no segment numbered n any more: it is past it. */
static int variant_passed(const HLSBridgeVariant *v, int64_t n)
{
    const HLSBridgeContext *c = v->s->priv_data;

    if (v->cur.pb)
        return v->cur_number > n;
    return c->start_number + v->segments_opened > n;
}

/*
 * Segment number n of the ladder is decided when every variant has closed
 * (or lost) its segment n, or is past n without one (it was dropping
 * media); else as `mode` says. Returns 1 when decided, with *lost set when
 * a variant lost it or has none: then it is listed nowhere, so that a media
 * sequence number means the same media interval in every variant's
 * playlist (and the playlists can be continued together, append_list).
 */
static int segment_decided(AVFormatContext *s, int64_t n, enum HLSBridgeCommit mode,
                           int *lost, int *discont)
{
    HLSBridgeContext *c = s->priv_data;

    *lost = *discont = 0;
    for (int i = 0; i < c->nb_variants; i++) {
        const HLSBridgeVariant *v = c->variants[i];
        /* One that has not started yet (no media so far) joins later at
         * the number of the moment (catch_up_number()). */
        if (!v->segments_opened && !v->nb_done)
            continue;
        if (v->nb_done && v->done[0].number == n) {
            *lost    |= v->done[0].lost;
            *discont |= v->done[0].discont;
        } else if (variant_passed(v, n) || mode == HLSBRIDGE_COMMIT_FINAL) {
            *lost = 1;
        } else if (mode == HLSBRIDGE_COMMIT_WAIT) {
            return 0;
        }
    }
    return 1;
}

static int submit_key(HLSBridgeVariant *v, const hlsbridge_key *key)
{
    int ret = hlsbridge_playlist_submit_key(v->pl, key);

    if (ret < 0)
        av_log(v->s, AV_LOG_ERROR, "Cannot list key '%s': %s\n", key->uri,
               hlsbridge_playlist_error(v->pl));
    return ret;
}

static void submit_init(HLSBridgeVariant *v, const char *url);

/* Hands over the maps and keys queued ahead of v's next segment. */
static void flush_events(HLSBridgeVariant *v)
{
    while (v->nb_done && v->done[0].kind != HLSBRIDGE_DONE_SEGMENT) {
        HLSBridgeDone d;
        hlsbridge_key key = { 0 };
        pop_done(v, &d);
        if (d.kind == HLSBRIDGE_DONE_MAP) {
            submit_init(v, d.url);
        } else if (d.kind == HLSBRIDGE_DONE_DISCARD) {
            discard_file(v, d.url);
        } else {
            key.uri       = d.url;
            key.file_path = d.key_file;
            memcpy(key.iv, d.iv, sizeof(key.iv));
            submit_key(v, &key);
        }
        free_done(&d);
    }
}

/* The key of the segments opened from now on: to the core now, or behind
 * the segments that wait for other variants. */
static int hand_over_key(HLSBridgeVariant *v, const hlsbridge_key *key)
{
    HLSBridgeDone d = { .kind = HLSBRIDGE_DONE_KEY };

    if (!v->nb_done)
        return submit_key(v, key);
    memcpy(d.iv, key->iv, sizeof(d.iv));
    queue_done(v, &d, key->uri, key->file_path);
    return 0;
}

/* Lists (or loses) segment n in every variant that has it. */
static void commit_number(AVFormatContext *s, int64_t n, int lost, int discont)
{
    HLSBridgeContext *c       = s->priv_data;
    const HLSBridgeVariant *l = c->variants[c->leader];
    double duration           = 0;
    int64_t pdt_ms            = HLSBRIDGE_NO_PDT;

    /* Every variant lists the leader's interval: an audio rendition, cut at
     * the first audio frame of each cut, covers it within a frame, and its
     * own cut-to-cut times (a frame more or less) would give its playlist
     * another EXT-X-TARGETDURATION than the others'. */
    if (l->nb_done && l->done[0].number == n) {
        duration = l->done[0].duration;
        pdt_ms   = l->done[0].pdt_ms;
    }
    /* A variant whose upload queue is full would drop n (the core says so
     * for one alone): then every variant drops it, before any lists it. */
    for (int i = 0; !lost && c->nb_variants > 1 && i < c->nb_variants; i++) {
        const HLSBridgeVariant *v = c->variants[i];
        if (v->nb_done && v->done[0].number == n && hlsbridge_playlist_queue_full(v->pl) > 0) {
            av_log(s, AV_LOG_WARNING, "Segment %"PRId64" is dropped in every variant: "
                   "the uploads of variant '%s' are that far behind\n", n, v->name);
            lost = 1;
        }
    }
    for (int i = 0; i < c->nb_variants; i++) {
        HLSBridgeVariant *v = c->variants[i];
        HLSBridgeDone d;
        if (!v->nb_done || v->done[0].number != n)
            continue;
        pop_done(v, &d);
        if (!lost && duration > 0) {
            d.duration = duration;
            d.pdt_ms   = pdt_ms;
        }
        if (!lost) {
            publish_segment(v, &d, discont);
        } else {
            if (!d.lost)
                av_log(s, AV_LOG_WARNING, "Segment '%s' is not published: "
                       "another variant lost or has no segment %"PRId64", and "
                       "the variants list the same segments\n", d.url, n);
            discard_file(v, d.url);
        }
        free_done(&d);
        flush_events(v);
    }
}

/*
 * Publishes the segments that every variant has decided, oldest first:
 * segment n is listed in all variants or in none (see segment_decided()).
 * With another mode than HLSBRIDGE_COMMIT_WAIT, the oldest waiting one is
 * decided whatever the others do.
 */
static void commit_segments(AVFormatContext *s, enum HLSBridgeCommit mode)
{
    HLSBridgeContext *c = s->priv_data;

    for (;;) {
        int64_t n = INT64_MAX;
        int lost, discont;
        for (int i = 0; i < c->nb_variants; i++)
            flush_events(c->variants[i]);
        for (int i = 0; i < c->nb_variants; i++)
            if (c->variants[i]->nb_done)
                n = FFMIN(n, c->variants[i]->done[0].number);
        if (n == INT64_MAX || !segment_decided(s, n, mode, &lost, &discont))
            return;
        commit_number(s, n, lost, discont);
        if (mode == HLSBRIDGE_COMMIT_WITHOUT)
            mode = HLSBRIDGE_COMMIT_WAIT;
        c->commits++;
        ff_hlsbridge_update_multivariant(s, c->master_pl_publish_rate &&
                               !(c->commits % c->master_pl_publish_rate) ?
                               HLSBRIDGE_MULTIVARIANT_REFRESH :
                               HLSBRIDGE_MULTIVARIANT_IF_NEEDED);
    }
}

/* Ends the open segment: duration, then publication with the others. */
static void end_segment(HLSBridgeVariant *v, const char *url, int close_ret,
                        uint64_t size)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    HLSBridgeDone d     = { .pdt_ms = HLSBRIDGE_NO_PDT, .size = size };
    int64_t duration;

    if (!v->cur.has_ref) {
        av_log(s, AV_LOG_WARNING, "Segment '%s' holds no packet of the "
               "reference stream; it is not published\n", url);
        lose_segment(v, v->cur_number, url);
        return;
    }

    duration = segment_duration(&v->cur, &v->pkt);
    if (duration <= 0) {
        av_log(s, AV_LOG_WARNING, "Segment '%s' has no duration; it is not "
               "published\n", url);
        lose_segment(v, v->cur_number, url);
        return;
    }

    if (close_ret < 0) {
        /* Players must not expect this media: the next segment follows a gap.
         * The partial file is never listed; removing it gives its space back
         * (a full disk is the usual cause). */
        av_log(s, AV_LOG_ERROR, "Segment '%s' was not written completely: %s; "
               "it is not published, and the next one starts a discontinuity\n",
               url, av_err2str(close_ret));
        lose_segment(v, v->cur_number, url);
    } else {
        d.number   = v->cur_number;
        d.duration = duration * av_q2d(v->ref_tb);
        d.discont  = v->cur.discont;
        if (c->flags & HLSBRIDGE_FLAG_PROGRAM_DATE_TIME)
            d.pdt_ms = v->pdt_anchor_ms +
                av_rescale_q(v->media_start - v->pdt_anchor_media, v->ref_tb,
                             (AVRational){ 1, 1000 });
        queue_done(v, &d, url, NULL);
    }
    v->media_start += duration;
}

/* Replaces the key in force with the one read from the key info file. */
static int take_key_info(HLSBridgeEncryption *enc, const hlsbridge_key_info *info)
{
    char *uri = av_strdup(info->uri), *file = av_strdup(info->key_file);

    if (!uri || !file) {
        av_free(uri);
        av_free(file);
        return AVERROR(ENOMEM);
    }
    av_free(enc->uri);
    av_free(enc->key_file);
    enc->uri      = uri;
    enc->key_file = file;
    memcpy(enc->key, info->key, sizeof(enc->key));
    memcpy(enc->iv, info->iv, sizeof(enc->iv));
    enc->has_iv = info->has_iv;
    enc->dirty  = 1;
    return 0;
}

/* The key info file names another key (URI, file, bytes) or IV. */
static int key_info_differs(const HLSBridgeEncryption *enc, const hlsbridge_key_info *info)
{
    return strcmp(enc->uri, info->uri) || strcmp(enc->key_file, info->key_file) ||
           memcmp(enc->key, info->key, sizeof(enc->key)) || enc->has_iv != info->has_iv ||
           (info->has_iv && memcmp(enc->iv, info->iv, sizeof(enc->iv)));
}

/* Other key bytes behind the same URI: players would fetch the new key for
 * the segments still listed under the old one. */
static int key_changed_in_place(const HLSBridgeEncryption *enc, const hlsbridge_key_info *info)
{
    return !strcmp(enc->uri, info->uri) && memcmp(enc->key, info->key, sizeof(enc->key));
}

/*
 * Before segment number n is opened: with periodic_rekey the key info file
 * is read again, and a key that changed starts a key period; a file that
 * cannot be read leaves the key in force. A new key period (or a key the
 * core lost) is handed to the core ahead of the segment, with its IV: the
 * one given, else n, big-endian, as FFmpeg's hls muxer derives it.
 */
static int update_key(HLSBridgeVariant *v, int64_t n)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    HLSBridgeEncryption *enc = &v->enc;
    hlsbridge_key_info info;
    hlsbridge_key key;
    int ret;

    if ((c->flags & HLSBRIDGE_FLAG_PERIODIC_REKEY) && enc->info_file) {
        if (hlsbridge_key_info_read(v->pl, enc->info_file, &info) < 0) {
            av_log(s, AV_LOG_WARNING, "hls_key_info_file: %s; the key in force "
                   "stays\n", hlsbridge_playlist_error(v->pl));
        } else if (key_changed_in_place(enc, &info)) {
            av_log(s, AV_LOG_WARNING, "hls_key_info_file '%s': a new key under the "
                   "same URI '%s' would be fetched for the segments listed with the "
                   "old one; give a new key a new URI. The key in force stays\n",
                   enc->info_file, info.uri);
            hlsbridge_key_info_free(&info);
        } else {
            ret = key_info_differs(enc, &info) ? take_key_info(enc, &info) : 0;
            hlsbridge_key_info_free(&info);
            if (ret < 0)
                return ret;
        }
    }
    if (!enc->dirty)
        return 0;
    if (!enc->has_iv) {
        memset(enc->iv, 0, sizeof(enc->iv));
        AV_WB64(enc->iv + 8, n);
    }
    memset(&key, 0, sizeof(key));
    key.uri       = enc->uri;
    /* A key file of hls_key_info_file is the user's, served by them: it is
     * not published to an origin. */
    key.file_path = c->origin.target && enc->info_file ? NULL : enc->key_file;
    memcpy(key.iv, enc->iv, sizeof(key.iv));
    if ((ret = hand_over_key(v, &key)) < 0)
        return ret;
    av_log(s, AV_LOG_VERBOSE, "Key '%s' from segment %"PRId64"\n", enc->uri, n);
    enc->dirty = 0;
    return 0;
}

/* Zeroes key material in a way the compiler keeps. */
static void wipe(void *p, size_t size)
{
    volatile uint8_t *v = p;

    while (size--)
        *v++ = 0;
}

/*
 * Opens a segment file through FFmpeg's crypto protocol: AES-128-CBC of the
 * whole file, PKCS#7 padding at the end. The key and IV go in options as
 * hex, wiped after use.
 */
static int open_encrypted(HLSBridgeVariant *v, AVIOContext **pb, const char *url,
                          int flags, AVDictionary **options)
{
    AVFormatContext *s  = v->s;
    AVDictionary *opts  = NULL;
    char hex[33];
    char *crypto_url    = av_asprintf("crypto:%s", url);
    int ret             = crypto_url ? 0 : AVERROR(ENOMEM);

    if (ret >= 0 && options)
        ret = av_dict_copy(&opts, *options, 0);
    ff_data_to_hex(hex, v->enc.key, sizeof(v->enc.key), 1);
    if (ret >= 0)
        ret = av_dict_set(&opts, "encryption_key", hex, 0);
    ff_data_to_hex(hex, v->enc.iv, sizeof(v->enc.iv), 1);
    if (ret >= 0)
        ret = av_dict_set(&opts, "encryption_iv", hex, 0);
    wipe(hex, sizeof(hex));
    if (ret >= 0)
        ret = s->io_open(s, pb, crypto_url, flags, &opts);
    for (const AVDictionaryEntry *e = NULL; (e = av_dict_iterate(opts, e));)
        wipe(e->value, strlen(e->value));
    av_dict_free(&opts);
    av_free(crypto_url);
    return ret;
}

/*
 * hls_init_time: the segment just opened is the first after the initial
 * list. It ends hls_time after its start, at a key packet: the segment
 * muxer cuts no more on its own, and the muxer starts one with hls_time
 * there (see hlsbridge_write_packet()).
 */
static void end_init_phase(HLSBridgeVariant *v)
{
    HLSBridgeContext *c = v->s->priv_data;

    v->init_phase = 0;
    if (!v->seg || !v->pkt.in_flight || !v->pkt.is_ref)
        return; /* a segment muxer starting again: it takes hls_time */
    /* segment.c cuts at segment_time * (segments so far + 1) after its first
     * pts: a time that product cannot reach, nor overflow, before the
     * segment muxer is replaced after this segment. */
    av_opt_set_int(v->seg->priv_data, "segment_time",
                   INT64_MAX / 4 / ((int64_t)c->list_size + 2), 0);
    v->switch_pts = v->pkt.pts + av_rescale_q(c->hls_time, AV_TIME_BASE_Q, v->ref_tb);
}

/*
 * The template with its one %d (or %0Nd: N digits at least) replaced by n
 * and "%%" by '%', as av_get_frame_filename() does for an int; NULL for a
 * template without exactly one such conversion, or out of memory.
 */
char *ff_hlsbridge_number_segment_name(const char *tmpl, int64_t n)
{
    AVBPrint bp;
    char *name;
    int found = 0, bad = 0;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (const char *p = tmpl; *p; p++) {
        int width = 0;
        if (*p != '%') {
            av_bprint_chars(&bp, *p, 1);
            continue;
        }
        if (p[1] == '%') {
            av_bprint_chars(&bp, '%', 1);
            p++;
            continue;
        }
        while (av_isdigit(p[1]) && width < 100)
            width = width * 10 + *++p - '0';
        bad = p[1] != 'd' || found || width >= 100;
        if (bad)
            break;
        av_bprintf(&bp, "%0*"PRId64, width, n);
        found = 1;
        p++;
    }
    if (av_bprint_finalize(&bp, &name) < 0)
        return NULL;
    if (bad || !found)
        av_freep(&name);
    return name;
}

/*
 * strftime: before a segment file is opened, its directory is made
 * (strftime_mkdir), and a name that repeats the last one (two cuts within
 * the template's resolution) is refused: the file is listed, and rewriting
 * it would change what players fetch.
 */
static int prepare_strftime_segment(HLSBridgeVariant *v, const char *url)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    const char *path    = ff_hlsbridge_local_path(url);
    int ret;

    if (v->cur.url && !strcmp(v->cur.url, url)) {
        av_log(s, AV_LOG_ERROR, "Segment name '%s' repeats the last one: "
               "hls_segment_filename needs a finer time for segments this "
               "short; the segment is not written\n", url);
        return AVERROR(EEXIST);
    }
    if (c->strftime_mkdir && path &&
        (ret = hlsbridge_playlist_prepare_dir(v->pl, path)) < 0) {
        av_log(s, AV_LOG_ERROR, "strftime_mkdir: %s\n", hlsbridge_playlist_error(v->pl));
        return ret;
    }
    return 0;
}

/*
 * Opens a segment file, named in *name: the segment muxer numbers its files
 * with an int, so this muxer names them itself with the 64-bit number (the
 * same name while it fits); strftime names are the segment muxer's. The
 * file is encrypted (AES-128), or in a directory made for it
 * (strftime_mkdir).
 */
static int open_segment_file(HLSBridgeVariant *v, AVIOContext **pb, const char *url,
                             int flags, AVDictionary **options, char **name)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    int ret;

    *name = c->strftime ? av_strdup(url) :
            ff_hlsbridge_number_segment_name(v->segment_filename, c->start_number + v->segments_opened);
    if (!*name)
        return AVERROR(ENOMEM);
    if (c->strftime && (ret = prepare_strftime_segment(v, *name)) < 0)
        return ret;
    if (!v->enc.on)
        return s->io_open(s, pb, *name, flags, options);
    if ((ret = update_key(v, c->start_number + v->segments_opened)) < 0)
        return ret;
    return open_encrypted(v, pb, *name, flags, options);
}

static int hlsbridge_io_open(AVFormatContext *inner, AVIOContext **pb,
                             const char *url, int flags, AVDictionary **options)
{
    HLSBridgeVariant *v = inner->opaque;
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    /* What the segment muxer writes: the fMP4 header file, opened first by
     * the name it was given, or a segment; what it reads passes through. */
    int is_init    = (flags & AVIO_FLAG_WRITE) && v->init.url && !v->init.pb &&
                     !strcmp(url, v->init.url);
    int is_segment = (flags & AVIO_FLAG_WRITE) && !is_init && !v->cur.pb;
    char *name     = NULL;
    int ret;

    if (v->probing)
        return avio_open_dyn_buf(pb);
    if (is_segment)
        ret = open_segment_file(v, pb, url, flags, options, &name);
    else
        ret = s->io_open(s, pb, url, flags, options);
    if (ret < 0) {
        av_log(s, AV_LOG_ERROR, "Cannot open '%s': %s\n", name ? name : url,
               av_err2str(ret));
        av_free(name);
        return ret;
    }
    if (is_init)
        v->init.pb = *pb;
    if (!is_segment)
        return 0;

    av_freep(&v->cur.url);
    v->cur.url         = name;
    v->cur.pb          = *pb;
    v->cur_number      = c->start_number + v->segments_opened;
    v->segments_opened++;
    if (v->init_phase && v->segments_opened > c->list_size)
        end_init_phase(v);
    segment_reset(&v->cur);
    v->cur.discont     = v->discont_pending;
    v->discont_pending = 0;
    return 0;
}

/* Closes a file of ours; a write error recorded in pb counts as much as a
 * failed close. */
static int close_output(AVFormatContext *s, AVIOContext *pb)
{
    int ret       = pb->error;
    int close_ret = s->io_close2(s, pb);

    return close_ret < 0 && ret >= 0 ? close_ret : ret;
}

/*
 * Hands a complete init section to the core, which makes it durable before
 * any playlist names it in an EXT-X-MAP, and keeps the one in force when the
 * bytes are the same (a segment muxer started again after a jump).
 */
static void submit_init(HLSBridgeVariant *v, const char *url)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    const char *path    = ff_hlsbridge_local_path(url);
    char *uri           = NULL;
    int ret;

    if (!path && !(uri = remote_segment_uri(url))) {
        c->err = AVERROR(ENOMEM);
        return;
    }
    ret = hlsbridge_playlist_submit_map(v->pl, uri, path);
    av_free(uri);
    if (ret == AVERROR(ENOMEM))
        c->err = ret;
    else if (ret < 0)
        av_log(s, AV_LOG_ERROR, "Cannot list init section '%s': %s; its "
               "segments are not published\n", url, hlsbridge_playlist_error(v->pl));
    take_publish_errors(v);
}

/* A file that is no segment (an init section) and will not be listed:
 * removed now, or behind the segments of v that wait for other variants. */
static void lose_file(HLSBridgeVariant *v, const char *url)
{
    HLSBridgeDone d = { .kind = HLSBRIDGE_DONE_DISCARD };

    v->discont_pending = 1;
    if (v->nb_done)
        queue_done(v, &d, url, NULL);
    else
        discard_file(v, url);
}

/* An init section: to the core now, or behind the segments of v that
 * wait for other variants. */
static void publish_init(HLSBridgeVariant *v, const char *url)
{
    HLSBridgeDone d = { .kind = HLSBRIDGE_DONE_MAP };

    if (v->nb_done)
        queue_done(v, &d, url, NULL);
    else
        submit_init(v, url);
}

/* The init file is complete: published, or (a write failed, the segment
 * muxer is being freed) removed, with the media that would need it. */
static int close_init(HLSBridgeVariant *v, AVIOContext *pb)
{
    AVFormatContext *s  = v->s;
    int ret;

    v->init.pb = NULL;
    ret = close_output(s, pb);
    if (ret >= 0 && v->state != HLSBRIDGE_CLOSING) {
        publish_init(v, v->init.url);
        return ret;
    }
    if (ret < 0) {
        av_log(s, AV_LOG_ERROR, "Init section '%s' was not written completely: "
               "%s\n", v->init.url, av_err2str(ret));
        v->init.failed = ret;
    }
    lose_file(v, v->init.url);
    return ret;
}

static int hlsbridge_io_close2(AVFormatContext *inner, AVIOContext *pb)
{
    HLSBridgeVariant *v = inner->opaque;
    AVFormatContext *s  = v->s;
    uint8_t *buf;
    int64_t size;
    int ret;

    if (v->probing) {
        avio_close_dyn_buf(pb, &buf);
        av_free(buf);
        return 0;
    }
    if (pb && pb == v->init.pb)
        return close_init(v, pb);
    if (!pb || pb != v->cur.pb)
        return s->io_close2(s, pb);

    v->cur.pb = NULL;
    size      = avio_tell(pb);
    ret       = close_output(s, pb);
    if (v->state != HLSBRIDGE_CLOSING)
        end_segment(v, v->cur.url, ret, FFMAX(size, 0));
    return ret;
}

/* Default template: "<playlist without extension>%d.<ext>" beside it, or
 * with strftime "<...>-%Y%m%d%H%M%S.<ext>". */
static char *default_segment_filename(const char *playlist, const char *ext,
                                      int use_strftime)
{
    const char *base = av_basename(playlist);
    const char *dot  = strrchr(base, '.');
    size_t stem      = dot && dot != base ? dot - base : strlen(base);
    AVBPrint bp;
    char *ret;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    /* The directory and the stem are literal text in a template: '%' is
     * written "%%" in both. */
    for (const char *p = playlist; p < base + stem; p++)
        av_bprintf(&bp, *p == '%' ? "%%%%" : "%c", *p);
    av_bprintf(&bp, use_strftime ? "-%%Y%%m%%d%%H%%M%%S.%s" : "%%d.%s", ext);
    if (av_bprint_finalize(&bp, &ret) < 0)
        return NULL;
    return ret;
}

/*
 * Name of the n-th init file of the stream: the first is the template
 * itself, later ones (a segment muxer started again) insert "_<n>" before
 * the extension: init.mp4, init_1.mp4, init_2.mp4...
 */
char *ff_hlsbridge_init_file_name(const char *tmpl, int64_t n)
{
    const char *base = av_basename(tmpl);
    const char *dot  = strrchr(base, '.');
    size_t stem      = dot && dot != base ? dot - tmpl : strlen(tmpl);

    if (!n)
        return av_strdup(tmpl);
    return av_asprintf("%.*s_%"PRId64"%s", (int)stem, tmpl, n, tmpl + stem);
}

/*
 * Stream whose key packets time the cuts: the first video stream, else the
 * first audio stream, as segment.c chooses; else the first stream that is not
 * a cover picture. A subtitle or data stream is sparse and cuts late.
 */
static int select_reference_stream(HLSBridgeVariant *v)
{
    static const enum AVMediaType order[] = {
        AVMEDIA_TYPE_VIDEO, AVMEDIA_TYPE_AUDIO, AVMEDIA_TYPE_UNKNOWN,
    };

    for (int k = 0; k < FF_ARRAY_ELEMS(order); k++) {
        for (int i = 0; i < v->nb_streams; i++) {
            const AVStream *st = v->s->streams[v->streams[i]];
            if ((order[k] == AVMEDIA_TYPE_UNKNOWN ||
                 st->codecpar->codec_type == order[k]) &&
                !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
                return v->streams[i];
        }
    }
    return v->streams[0];
}

static av_cold int open_playlist(HLSBridgeVariant *v)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_playlist_options opts;
    int ret;

    hlsbridge_playlist_options_init(&opts);
    opts.path            = v->playlist_path;
    opts.window_size     = c->list_size;
    opts.target_duration = FFMAX(c->hls_time, c->init_time) / (double)AV_TIME_BASE;
    opts.start_sequence  = c->start_number;
    opts.base_url        = c->base_url;
    opts.delete_segments = !!(c->flags & HLSBRIDGE_FLAG_DELETE_SEGMENTS);
    opts.fsync_segments  = c->segment_fsync;
    /* Segments start at key frames of the reference stream, the first one
     * included (see hlsbridge_write_packet()). */
    opts.independent_segments = c->segment_type == HLSBRIDGE_SEGMENT_FMP4 ||
                                (c->flags & HLSBRIDGE_FLAG_INDEPENDENT_SEGMENTS);
    opts.omit_endlist         = !!(c->flags & HLSBRIDGE_FLAG_OMIT_ENDLIST);
    /* hls_delete_threshold as FFmpeg's hls muxer counts it, on top of the
     * hold; left at its default, only the hold counts. */
    if (av_opt_is_set_to_default_by_name(c, "hls_delete_threshold", 0) == 0)
        opts.keep_removed_segments = c->delete_threshold;
    opts.target          = c->origin.target;
    if (c->origin.target)
        opts.max_queued_segments = c->origin.queue_size;  /* 0: the core's 16 */
    opts.resume          = !!(c->flags & HLSBRIDGE_FLAG_APPEND_LIST);
    opts.resume_ended    = c->append_ended;
    opts.log_callback    = ff_hlsbridge_core_log;
    opts.log_opaque      = s;
    switch (c->playlist_type) {
    case HLSBRIDGE_TYPE_EVENT: opts.type = HLSBRIDGE_PLAYLIST_EVENT; break;
    case HLSBRIDGE_TYPE_VOD:   opts.type = HLSBRIDGE_PLAYLIST_VOD;   break;
    default:                   opts.type = HLSBRIDGE_PLAYLIST_LIVE;  break;
    }

    ret = hlsbridge_playlist_open(&opts, &v->pl);
    /* The core has logged its message (path, step, cause) through the log
     * callback. */
    if (ret < 0 && !*hlsbridge_last_open_error())
        av_log(s, AV_LOG_ERROR, "Cannot open playlist '%s': %s\n",
               v->playlist_path, av_err2str(ret));
    return ret;
}

/* An option that needs another one. */
int ff_hlsbridge_refuse_alone(AVFormatContext *s, const char *name, const char *needs)
{
    av_log(s, AV_LOG_ERROR, "%s needs %s\n", name, needs);
    return AVERROR(EINVAL);
}

/* hls_enc: the key (given or random) and IV (if given), and a key file
 * beside the playlist, written durably before any playlist names it. */
static av_cold int generate_key(HLSBridgeVariant *v)
{
    AVFormatContext *s  = v->s;
    HLSBridgeEncryption *enc = &v->enc;
    int ret;

    if (enc->key_hex && hlsbridge_parse_hex16(enc->key_hex, enc->key) < 0) {
        av_log(s, AV_LOG_ERROR, "hls_enc_key must be 32 hexadecimal digits\n");
        return AVERROR(EINVAL);
    }
    if (!enc->key_hex && (ret = av_random_bytes(enc->key, sizeof(enc->key))) < 0) {
        av_log(s, AV_LOG_ERROR, "Cannot generate a random key: %s\n", av_err2str(ret));
        return ret;
    }
    if (enc->iv_hex && hlsbridge_parse_hex16(enc->iv_hex, enc->iv) < 0) {
        av_log(s, AV_LOG_ERROR, "hls_enc_iv must be 32 hexadecimal digits\n");
        return AVERROR(EINVAL);
    }
    enc->has_iv   = !!enc->iv_hex;
    enc->key_file = av_asprintf("%s.key", v->playlist_path);
    enc->uri      = enc->key_url ? av_strdup(enc->key_url) :
                    av_strdup(av_basename(enc->key_file ? enc->key_file : ""));
    if (!enc->key_file || !enc->uri)
        return AVERROR(ENOMEM);
    if ((ret = hlsbridge_playlist_write_file(v->pl, enc->key_file, enc->key,
                                             sizeof(enc->key))) < 0)
        av_log(s, AV_LOG_ERROR, "hls_enc: %s\n", hlsbridge_playlist_error(v->pl));
    return ret;
}

/*
 * AES-128 from hls_key_info_file or hls_enc (one of them), checked and
 * handed to the core before the first segment: a bad key info file, key or
 * key URI fails here, naming the option, file and line.
 */
static av_cold int setup_encryption(HLSBridgeVariant *v)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    HLSBridgeEncryption *enc = &v->enc;
    hlsbridge_key_info info;
    int ret;

    if (enc->info_file && enc->enabled)
        return ff_hlsbridge_refuse_alone(s, "hls_enc", "no hls_key_info_file: the key comes from one or the other");
    if (!enc->info_file && (c->flags & HLSBRIDGE_FLAG_PERIODIC_REKEY))
        return ff_hlsbridge_refuse_alone(s, "hls_flags periodic_rekey", "hls_key_info_file");
    if (!enc->enabled && (enc->key_hex || enc->key_url || enc->iv_hex))
        return ff_hlsbridge_refuse_alone(s, enc->key_hex ? "hls_enc_key" : enc->key_url ?
                            "hls_enc_key_url" : "hls_enc_iv", "-hls_enc 1");
    if (!enc->info_file && !enc->enabled)
        return 0;

    if (enc->info_file) {
        if ((ret = hlsbridge_key_info_read(v->pl, enc->info_file, &info)) < 0) {
            av_log(s, AV_LOG_ERROR, "hls_key_info_file: %s\n",
                   hlsbridge_playlist_error(v->pl));
            return ret;
        }
        ret = take_key_info(enc, &info);
        hlsbridge_key_info_free(&info);
    } else {
        ret = generate_key(v);
    }
    if (ret < 0)
        return ret;
    enc->on    = 1;
    enc->dirty = 1;
    return update_key(v, c->start_number);
}

/*
 * A segment file name: the template with the segment number n, or with
 * strftime, with the local time t, as the segment muxer expands it.
 * Returns a new string, or NULL (out of memory, or a template that gives
 * no name).
 */
static char *expand_segment_name(const char *tmpl, int use_strftime, int64_t n,
                                 time_t t)
{
    size_t size      = strlen(tmpl) + 256;
    char *name       = av_malloc(size);
    struct tm tm;

    if (!name)
        return NULL;
    if (!use_strftime) {
        av_free(name);
        return ff_hlsbridge_number_segment_name(tmpl, n);
    }
    if (!localtime_r(&t, &tm) || !strftime(name, size, tmpl, &tm))
        av_freep(&name);
    return name;
}

/*
 * Segment files go through avio, which creates no directory: the core
 * creates the directory of the first file name and checks that files can be
 * made there (and that the name holds no control character), before the
 * first segment; with fMP4, the same for the init files.
 */
static av_cold int prepare_segment_dir(HLSBridgeVariant *v)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    char *first;
    int ret;

    /* fMP4: the init files' directory too, and a name the playlist can
     * carry (no control character), before any media is written. */
    if (v->init_template && ff_hlsbridge_local_path(v->init_template) &&
        (ret = hlsbridge_playlist_prepare_dir(v->pl, ff_hlsbridge_local_path(v->init_template))) < 0) {
        av_log(s, AV_LOG_ERROR, "hls_fmp4_init_filename: %s\n",
               hlsbridge_playlist_error(v->pl));
        return ret;
    }
    if (!ff_hlsbridge_local_path(v->segment_filename))
        return 0;
    /* The first file name, where "%%" is one '%'. */
    if (!(first = expand_segment_name(v->segment_filename, c->strftime,
                                      c->start_number, time(NULL))))
        return AVERROR(ENOMEM);
    if ((ret = hlsbridge_playlist_prepare_dir(v->pl, ff_hlsbridge_local_path(first))) < 0)
        av_log(s, AV_LOG_ERROR, "hls_segment_filename: %s\n",
               hlsbridge_playlist_error(v->pl));
    av_free(first);
    return ret < 0 ? ret : 0;
}

/*
 * The segment muxer's own options that segment_options may set: they move
 * cuts and leave naming, timing and listing to this muxer. Any other option
 * in the segment muxer's AVClass, looked up at run time so that one a newer
 * FFmpeg adds is covered too, is this muxer's to set (or means nothing
 * here, like the segment list options) and is refused by name.
 */
static const char *const user_segment_options[] = {
    "segment_time_delta", "min_seg_duration", "break_non_keyframes",
    "segment_atclocktime", "segment_clocktime_offset",
    "segment_clocktime_wrap_duration", "increment_tc", "write_empty_segments",
};

static int is_user_segment_option(const char *name)
{
    for (int i = 0; i < FF_ARRAY_ELEMS(user_segment_options); i++)
        if (!strcmp(name, user_segment_options[i]))
            return 1;
    return 0;
}

/*
 * Refuses segment_options that this muxer sets itself or that the segment
 * muxer does not know, before anything is created on disk. Generic muxer
 * options (AVFormatContext's) pass.
 */
static av_cold int check_segment_options(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    const AVOutputFormat *segment = av_guess_format("segment", NULL, NULL);
    const AVClass *fmt_class = avformat_get_class();
    const AVClass *seg_class = segment ? segment->priv_class : NULL;
    const AVDictionaryEntry *e = NULL;

    while ((e = av_dict_iterate(c->segment_options, e))) {
        if (seg_class && av_opt_find(&seg_class, e->key, NULL, 0,
                                     AV_OPT_SEARCH_FAKE_OBJ)) {
            if (is_user_segment_option(e->key))
                continue;
            av_log(s, AV_LOG_ERROR, "segment_options: '%s' is set by the "
                   "hlsbridge muxer itself or has no meaning here; use its "
                   "own options (hls_time, hls_segment_filename, start_number, "
                   "segment_format, segment_format_options)\n", e->key);
            return AVERROR(EINVAL);
        }
        if (!av_opt_find(&fmt_class, e->key, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ)) {
            av_log(s, AV_LOG_ERROR, "segment_options: option '%s' is not known "
                   "to the segment muxer\n", e->key);
            return AVERROR_OPTION_NOT_FOUND;
        }
    }
    /* EXT-X-INDEPENDENT-SEGMENTS (fMP4, independent_segments) promises a key
     * frame at the start of every segment. */
    e = av_dict_get(c->segment_options, "break_non_keyframes", NULL, 0);
    if (e && strcmp(e->value, "0") && strcmp(e->value, "false") &&
        (c->segment_type == HLSBRIDGE_SEGMENT_FMP4 ||
         (c->flags & HLSBRIDGE_FLAG_INDEPENDENT_SEGMENTS))) {
        av_log(s, AV_LOG_ERROR, "segment_options: break_non_keyframes would start "
               "segments without a key frame, which EXT-X-INDEPENDENT-SEGMENTS "
               "(always with fmp4) says they never do\n");
        return AVERROR(EINVAL);
    }
    return 0;
}

/*
 * fMP4: the init file of this segment muxer (header to a file of its own)
 * and the container flags that make one fragment per segment.
 */
static int set_fmp4_options(HLSBridgeVariant *v, AVDictionary **opts,
                            AVDictionary **fmt_opts)
{
    int ret;

    av_freep(&v->init.url);
    v->init.url = ff_hlsbridge_init_file_name(v->init_template, v->init.count++);
    if (!v->init.url)
        return AVERROR(ENOMEM);
    v->init.failed = 0;
    if ((ret = av_dict_set(opts, "segment_header_filename", v->init.url, 0)) < 0)
        return ret;
    return av_dict_set(fmt_opts, "movflags", HLSBRIDGE_FMP4_MOVFLAGS, 0);
}

static int open_segmenter(HLSBridgeVariant *v)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    const AVDictionaryEntry *e;
    AVDictionary *opts = NULL, *fmt_opts = NULL;
    AVFormatContext *seg;
    char buf[32];
    int ret;

    v->start_opened = v->segments_opened;
    ret = avformat_alloc_output_context2(&v->seg, NULL, "segment",
                                         v->segment_filename);
    if (ret < 0) {
        av_log(s, AV_LOG_ERROR, "Cannot create the segment muxer: %s\n",
               av_err2str(ret));
        return ret;
    }
    seg = v->seg;
    seg->opaque             = v;
    seg->io_open            = hlsbridge_io_open;
    seg->io_close2          = hlsbridge_io_close2;
    seg->interrupt_callback = s->interrupt_callback;
    seg->max_delay          = s->max_delay;
    /* Bitstream filters run in this context (see check_bitstream), so that
     * each packet reaches the segment muxer whole and in order. */
    seg->flags              = s->flags & ~AVFMT_FLAG_AUTO_BSF;
    if ((ret = av_dict_copy(&seg->metadata, s->metadata, 0)) < 0)
        return ret;

    for (int i = 0; i < v->nb_streams; i++) {
        const AVStream *ost = s->streams[v->streams[i]];
        AVStream *st = ff_stream_clone(seg, ost);
        if (!st)
            return AVERROR(ENOMEM);
        st->codecpar->codec_tag = ost->codecpar->codec_tag;
        /* Apple's players take HEVC in MP4 as hvc1 (parameter sets in the
         * sample entry) only, not hev1. */
        if (c->segment_type == HLSBRIDGE_SEGMENT_FMP4 && !st->codecpar->codec_tag &&
            st->codecpar->codec_id == AV_CODEC_ID_HEVC)
            st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    }

    if ((ret = av_dict_copy(&opts, c->segment_options, 0)) < 0 ||
        (ret = av_dict_copy(&fmt_opts, c->segment_format_options, 0)) < 0)
        goto fail;
    if (c->segment_type == HLSBRIDGE_SEGMENT_FMP4 &&
        (ret = set_fmp4_options(v, &opts, &fmt_opts)) < 0)
        goto fail;
    av_dict_set(&opts, "segment_format", c->segment_format, 0);
    snprintf(buf, sizeof(buf), "%"PRId64"us", v->init_phase ? c->init_time : c->hls_time);
    av_dict_set(&opts, "segment_time", buf, 0);
    av_dict_set_int(&opts, "reference_stream", c->inner_index[v->ref_stream], 0);
    /* Its names are for its own log only (see open_segment_file()). */
    av_dict_set_int(&opts, "segment_start_number",
                    c->start_number + v->segments_opened <= INT_MAX ?
                    c->start_number + v->segments_opened : 0, 0);
    if (c->strftime)
        av_dict_set(&opts, "strftime", "1", 0);
    /* HLS needs timestamps that continue across segments. */
    av_dict_set(&opts, "reset_timestamps", "0", 0);
    /* segment.c measures cut times from the first packet's time rounded to
     * microseconds; when that start is not a whole number of microseconds
     * (x264 with B-frames at 30 fps starts at 2/30 s), a keyframe that lies
     * exactly on a cut misses it by less than 1 us and the segment doubles.
     * A millisecond of tolerance cuts there, as the user asked. */
    av_dict_set(&opts, "segment_time_delta", HLSBRIDGE_CUT_TOLERANCE_STR,
                AV_DICT_DONT_OVERWRITE);
    if (fmt_opts &&
        (ret = av_opt_set_dict_val(seg->priv_data, "segment_format_options",
                                   fmt_opts, 0)) < 0)
        goto fail;

    ret = avformat_init_output(seg, &opts);
    if (ret < 0) {
        av_log(s, AV_LOG_ERROR, "Cannot start the segment muxer: %s\n",
               av_err2str(ret));
        goto fail;
    }
    if ((e = av_dict_iterate(opts, NULL))) {
        av_log(s, AV_LOG_ERROR, "segment_options: option '%s' is not known to "
               "the segment muxer\n", e->key);
        ret = AVERROR_OPTION_NOT_FOUND;
        goto fail;
    }

    for (int i = 0; i < v->nb_streams; i++) {
        const AVStream *ist = seg->streams[i];
        avpriv_set_pts_info(s->streams[v->streams[i]], ist->pts_wrap_bits,
                            ist->time_base.num, ist->time_base.den);
    }
    if (seg->avoid_negative_ts > 0 && s->avoid_negative_ts < 0)
        s->avoid_negative_ts = 1;
    ret = 0;
fail:
    av_dict_free(&opts);
    av_dict_free(&fmt_opts);
    return ret;
}

/* An option of FFmpeg's hls muxer, or an hls_flags name, and why it is
 * refused when set: what it would need, and what to use instead. */
typedef struct HLSBridgeUnsupported {
    const char *name;
    const char *why;
} HLSBridgeUnsupported;

static const HLSBridgeUnsupported unsupported_options[] = {
    { "hls_vtt_options",        "WebVTT subtitle segments are not supported yet" },
    { "hls_allow_cache",        "EXT-X-ALLOW-CACHE was removed from HLS (RFC 8216 has no such tag)" },
    { "hls_segment_size",       "segments are cut by time only" },
    { "hls_subtitle_path",      "subtitle playlists are not supported yet" },
    { "hls_fmp4_init_resend",   "each init file is written once and made durable before a playlist names it; it is never rewritten" },
    { "ignore_io_errors",       "I/O errors are never fatal here: a failed segment is left out and a failed playlist write is retried" },
    { "cc_stream_map",          "closed-caption groups (CLOSED-CAPTIONS) are not supported yet" },
};

static const struct {
    int flag;
    HLSBridgeUnsupported u;
} unsupported_flags[] = {
    { HLSBRIDGE_FLAG_SINGLE_FILE,     { "single_file", "byte-range segments in one file are not supported yet" } },
    { HLSBRIDGE_FLAG_ROUND_DURATIONS, { "round_durations", "integer EXTINF values would drift from the media time; durations are printed to the millisecond so that they never do" } },
    { HLSBRIDGE_FLAG_SPLIT_BY_TIME,   { "split_by_time", "segments start with a key frame of the reference stream" } },
    { HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_INDEX,    { "second_level_segment_index", "adding the segment number to strftime names is not supported yet" } },
    { HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_DURATION, { "second_level_segment_duration", "adding the segment duration to strftime names is not supported yet" } },
    { HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_SIZE,     { "second_level_segment_size", "adding the segment size to strftime names is not supported yet" } },
    { HLSBRIDGE_FLAG_IFRAMES_ONLY,    { "iframes_only", "I-frame-only playlists are not supported yet" } },
};

/*
 * Refuses, by name, an option or hls_flags name of FFmpeg's hls muxer that
 * was set but is not implemented here: a command switched from -f hls must
 * not run with part of it silently ignored.
 */
static av_cold int check_hls_compat(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;

    for (int i = 0; i < FF_ARRAY_ELEMS(unsupported_options); i++) {
        const HLSBridgeUnsupported *u = &unsupported_options[i];
        if (av_opt_is_set_to_default_by_name(c, u->name, 0) == 0) {
            av_log(s, AV_LOG_ERROR, "%s: not supported by hlsbridge: %s\n",
                   u->name, u->why);
            return AVERROR(EINVAL);
        }
    }
    for (int i = 0; i < FF_ARRAY_ELEMS(unsupported_flags); i++) {
        if (c->flags & unsupported_flags[i].flag) {
            av_log(s, AV_LOG_ERROR, "hls_flags %s: not supported by hlsbridge: %s\n",
                   unsupported_flags[i].u.name, unsupported_flags[i].u.why);
            return AVERROR(EINVAL);
        }
    }
    return 0;
}

/*
 * hls_segment_type fmp4: the segments are written by the mp4 muxer, whose
 * fragmenting flags are this muxer's to set.
 */
static av_cold int check_segment_type(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;

    if (c->segment_type != HLSBRIDGE_SEGMENT_FMP4)
        return 0;
    if (strcmp(c->segment_format, "mp4")) {
        if (av_opt_is_set_to_default_by_name(c, "segment_format", 0) == 0) {
            av_log(s, AV_LOG_ERROR, "segment_format '%s' cannot write the "
                   "segments of hls_segment_type fmp4; leave it unset\n",
                   c->segment_format);
            return AVERROR(EINVAL);
        }
        av_freep(&c->segment_format);
        if (!(c->segment_format = av_strdup("mp4")))
            return AVERROR(ENOMEM);
    }
    if (av_dict_get(c->segment_format_options, "movflags", NULL, 0)) {
        av_log(s, AV_LOG_ERROR, "segment_format_options: movflags is set by "
               "hlsbridge for fMP4 segments (%s)\n", HLSBRIDGE_FMP4_MOVFLAGS);
        return AVERROR(EINVAL);
    }
    if (!c->init_filename || !*c->init_filename) {
        av_log(s, AV_LOG_ERROR, "hls_fmp4_init_filename must not be empty\n");
        return AVERROR(EINVAL);
    }
    return 0;
}

/* hls_start_number_source: the wall clock now as FFmpeg's hls muxer counts
 * it. */
static av_cold int64_t clock_start_number(int source)
{
    int64_t now_us = av_gettime();
    time_t now     = now_us / AV_TIME_BASE;
    struct tm tm;

    switch (source) {
    case HLSBRIDGE_START_EPOCH_US:
        return now_us;
    case HLSBRIDGE_START_DATETIME:
        if (!localtime_r(&now, &tm))
            return 0;
        return (tm.tm_year + 1900) * INT64_C(10000000000) + (tm.tm_mon + 1) * INT64_C(100000000) +
               tm.tm_mday * INT64_C(1000000) + tm.tm_hour * 10000 + tm.tm_min * 100 + tm.tm_sec;
    default:
        return now;
    }
}

/*
 * Options of FFmpeg's hls muxer that this muxer takes in its own terms:
 * hls_segment_options adds to segment_format_options, hls_start_number_source
 * sets start_number, hls_delete_threshold needs delete_segments.
 */
static av_cold int apply_hls_options(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    int ret;

    if ((ret = av_dict_copy(&c->segment_format_options, c->hls_segment_options, 0)) < 0)
        return ret;
    if (av_opt_is_set_to_default_by_name(c, "hls_delete_threshold", 0) == 0 &&
        !(c->flags & HLSBRIDGE_FLAG_DELETE_SEGMENTS)) {
        av_log(s, AV_LOG_ERROR, "hls_delete_threshold counts the files that "
               "hls_flags delete_segments keeps; set that flag too\n");
        return AVERROR(EINVAL);
    }
    if (c->start_number_source != HLSBRIDGE_START_GENERIC)
        c->start_number = clock_start_number(c->start_number_source);
    return 0;
}

/*
 * Checks what needs no file: the output name, hls_time, the streams, the
 * segment container (whose file extension goes to *ext) and the options
 * passed on to the segment muxer. Values the core checks (base URL, control
 * characters in names) are left to it.
 */
static av_cold int check_options(AVFormatContext *s, const char **ext)
{
    HLSBridgeContext *c = s->priv_data;
    const AVOutputFormat *fmt;
    int ret;

    if (!s->url || !*s->url) {
        av_log(s, AV_LOG_ERROR, "Empty output path: give the playlist file "
               "name, e.g. out/index.m3u8\n");
        return AVERROR(EINVAL);
    }
    if (!ff_hlsbridge_local_path(s->url)) {
        av_log(s, AV_LOG_ERROR, "Output '%s': the playlist is written to the "
               "local file system or published to an http:// origin; other "
               "protocols are not supported\n", s->url);
        return AVERROR(EINVAL);
    }
    if (c->hls_time <= 0) {
        av_log(s, AV_LOG_ERROR, "hls_time must be > 0, got %s s\n",
               av_ts2timestr(c->hls_time, &AV_TIME_BASE_Q));
        return AVERROR(EINVAL);
    }
    if (!s->nb_streams) {
        av_log(s, AV_LOG_ERROR, "No stream to segment\n");
        return AVERROR(EINVAL);
    }

    if ((ret = apply_hls_options(s)) < 0 ||
        (ret = check_segment_type(s)) < 0)
        return ret;
    fmt = av_guess_format(c->segment_format, NULL, NULL);
    if (!fmt || (fmt->flags & AVFMT_NOFILE)) {
        av_log(s, AV_LOG_ERROR, "segment_format: '%s' is not a muxer that "
               "writes files in this build\n", c->segment_format);
        return AVERROR_MUXER_NOT_FOUND;
    }
    *ext = c->segment_type == HLSBRIDGE_SEGMENT_FMP4 ? "m4s" : "ts";
    if (c->segment_type == HLSBRIDGE_SEGMENT_MPEGTS && strcmp(fmt->name, "mpegts")) {
        if (!strcmp(fmt->name, "mp4") || !strcmp(fmt->name, "mov")) {
            av_log(s, AV_LOG_ERROR, "segment_format '%s': MP4 segments for HLS "
                   "are fragmented ones with an init section: use "
                   "-hls_segment_type fmp4\n", fmt->name);
            return AVERROR(EINVAL);
        }
        av_log(s, AV_LOG_WARNING, "segment_format '%s': HLS players expect "
               "MPEG-TS or fMP4 segments\n", fmt->name);
        if (fmt->extensions)
            *ext = fmt->extensions;
    }
    if (c->playlist_type != HLSBRIDGE_TYPE_LIVE && c->list_size)
        av_log(s, AV_LOG_VERBOSE, "hls_list_size is ignored: event and vod "
               "playlists keep every segment\n");
    if (c->playlist_type != HLSBRIDGE_TYPE_LIVE)
        c->list_size = 0;
    if (c->init_time > 0 && !c->list_size)
        return ff_hlsbridge_refuse_alone(s, "hls_init_time", "a live playlist with hls_list_size > 0: "
                            "it sets the duration of its first hls_list_size segments");
    if ((ret = check_hls_compat(s)) < 0 || (ret = ff_hlsbridge_check_append(s)) < 0)
        return ret;
    return check_segment_options(s);
}

/* strftime: the template must name segments a second apart differently. */
static av_cold int check_strftime_name(HLSBridgeVariant *v)
{
    time_t minute       = time(NULL) / 60 * 60;
    char *a             = expand_segment_name(v->segment_filename, 1, 0, minute);
    char *b             = expand_segment_name(v->segment_filename, 1, 0, minute + 1);
    int ret             = a && b && strcmp(a, b) ? 0 : AVERROR(EINVAL);

    if (ret < 0)
        av_log(v->s, AV_LOG_ERROR, "hls_segment_filename '%s': with strftime it "
               "must name each second differently, e.g. with "
               "%%Y%%m%%d-%%H%%M%%S\n", v->segment_filename);
    av_free(a);
    av_free(b);
    return ret;
}

/* tmpl with every "%v" replaced by name; NULL when out of memory. */
static char *expand_variant(const char *tmpl, const char *name)
{
    AVBPrint bp;
    char *out;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == '%' && p[1] == 'v') {
            av_bprintf(&bp, "%s", name);
            p++;
        } else {
            av_bprint_chars(&bp, *p, 1);
        }
    }
    if (av_bprint_finalize(&bp, &out) < 0)
        return NULL;
    return out;
}

/* The segment file name template of v: the user's, or "<playlist
 * stem>%d.<ext>" beside its playlist; it must number the files. */
static av_cold int name_segments(HLSBridgeVariant *v, const char *ext)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    char *first;

    if (c->segment_filename) {
        v->segment_filename = expand_variant(c->segment_filename, v->name);
    } else {
        char *ext1 = av_strndup(ext, strcspn(ext, ","));
        if (!ext1)
            return AVERROR(ENOMEM);
        v->segment_filename = default_segment_filename(v->playlist_path, ext1,
                                                       c->strftime);
        av_free(ext1);
    }
    if (!v->segment_filename)
        return AVERROR(ENOMEM);
    if (c->strftime)
        return check_strftime_name(v);
    if (!(first = ff_hlsbridge_number_segment_name(v->segment_filename, c->start_number))) {
        av_log(s, AV_LOG_ERROR, "hls_segment_filename '%s' must contain one "
               "%%d (or %%0Nd) for the segment number\n", v->segment_filename);
        return AVERROR(EINVAL);
    }
    av_free(first);
    return 0;
}

/* fMP4: the first init file's path: hls_fmp4_init_filename, beside the
 * playlist unless it names a directory of its own. */
static av_cold int name_init(HLSBridgeVariant *v)
{
    HLSBridgeContext *c = v->s->priv_data;
    const char *pl      = v->playlist_path;
    char *name;

    if (c->segment_type != HLSBRIDGE_SEGMENT_FMP4)
        return 0;
    if (!(name = expand_variant(c->init_filename, v->name)))
        return AVERROR(ENOMEM);
    if (strchr(name, '/'))
        v->init_template = av_strdup(name);
    else
        v->init_template = av_asprintf("%.*s%s", (int)(av_basename(pl) - pl),
                                       pl, name);
    av_free(name);
    return v->init_template ? 0 : AVERROR(ENOMEM);
}

/*
 * The reference stream times the cuts; its time base and frame rate give
 * the thresholds of a timestamp jump and the duration of a packet that
 * carries none.
 */
static av_cold void init_reference_clock(HLSBridgeVariant *v)
{
    HLSBridgeContext *c = v->s->priv_data;
    const AVStream *ref = v->s->streams[v->ref_stream];

    v->ref_tb         = ref->time_base;
    v->jump_threshold = av_rescale_q(HLSBRIDGE_JUMP_TARGET_DURATIONS * c->hls_time,
                                     AV_TIME_BASE_Q, v->ref_tb);
    /* Backwards, B-frame reordering moves pts by a few frames; more than a
     * target duration (and a second) is a jump. */
    v->back_threshold = av_rescale_q(FFMAX(c->hls_time, AV_TIME_BASE),
                                     AV_TIME_BASE_Q, v->ref_tb);
    if (ref->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        ref->avg_frame_rate.num > 0 && ref->avg_frame_rate.den > 0)
        v->frame_dur = av_rescale_q(1, av_inv_q(ref->avg_frame_rate), v->ref_tb);
}

/*
 * fMP4: the index of a stream whose codec needs extradata in its MP4 sample
 * entry (avcC, hvcC, av1C, esds, dOps) and has none yet, else -1. The init
 * section is written once, at the segment muxer's start, so it must wait.
 */
static int missing_parameters(const HLSBridgeVariant *v)
{
    const HLSBridgeContext *c = v->s->priv_data;
    static const enum AVCodecID need[] = {
        AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_AV1, AV_CODEC_ID_AAC,
        AV_CODEC_ID_OPUS,
    };

    if (c->segment_type != HLSBRIDGE_SEGMENT_FMP4)
        return -1;
    for (int i = 0; i < v->nb_streams; i++) {
        const AVCodecParameters *par = v->s->streams[v->streams[i]]->codecpar;
        for (int k = 0; k < FF_ARRAY_ELEMS(need); k++)
            if (par->codec_id == need[k] && !par->extradata_size)
                return v->streams[i];
    }
    return -1;
}

/*
 * The segment muxer is built (its options checked, the streams' time bases
 * set) with its output in memory, then freed, and the variant waits in
 * HLSBRIDGE_STARTING: for codec parameters still missing (fMP4), or for its
 * first key frame of the ladder. No file is made.
 */
static av_cold int probe_segmenter(HLSBridgeVariant *v)
{
    int ret;

    if (missing_parameters(v) >= 0)
        av_log(v->s, AV_LOG_VERBOSE, "Stream #%d has no codec parameters yet: the "
               "first init section waits for them\n", missing_parameters(v));
    v->probing = 1;
    ret = open_segmenter(v);
    v->state = HLSBRIDGE_CLOSING;
    avformat_free_context(v->seg);
    v->seg         = NULL;
    v->probing     = 0;
    v->init.count  = v->init.base;
    v->state       = HLSBRIDGE_STARTING;
    return ret;
}

/* The names of every variant's files: playlist, segments, init sections.
 * Variants whose playlists share a directory get init files named after
 * them (init_<name>.mp4) unless hls_fmp4_init_filename says otherwise. */
static av_cold int name_variants(AVFormatContext *s, const char *ext)
{
    HLSBridgeContext *c = s->priv_data;
    const char *url     = ff_hlsbridge_local_path(s->url);
    int ret;

    if (c->nb_variants > 1 && !strstr(c->init_filename, "%v") &&
        av_opt_is_set_to_default_by_name(c, "hls_fmp4_init_filename", 0) > 0 &&
        !(strstr(url, "%v") && strstr(url, "%v") < av_basename(url))) {
        av_freep(&c->init_filename);
        if (!(c->init_filename = av_strdup("init_%v.mp4")))
            return AVERROR(ENOMEM);
    }
    for (int i = 0; i < c->nb_variants; i++) {
        HLSBridgeVariant *v = c->variants[i];
        if (!(v->playlist_path = expand_variant(ff_hlsbridge_local_path(s->url), v->name)))
            return AVERROR(ENOMEM);
        if ((ret = name_segments(v, ext)) < 0 || (ret = name_init(v)) < 0)
            return ret;
    }
    if ((ret = ff_hlsbridge_check_distinct(s, offsetof(HLSBridgeVariant, playlist_path),
                              "output name")) < 0 ||
        (ret = ff_hlsbridge_check_distinct(s, offsetof(HLSBridgeVariant, segment_filename),
                              "hls_segment_filename")) < 0)
        return ret;
    return ff_hlsbridge_check_distinct(s, offsetof(HLSBridgeVariant, init_template),
                          "hls_fmp4_init_filename");
}

/* A variant's outputs, in the order a failure should stop at: the playlist
 * (and its directory), the segment directory, the key, the segment muxer
 * (which opens the first segment file). */
/* A variant's playlist (and its directory); with append_list, the one it
 * continues. */
static av_cold int open_variant_playlist(HLSBridgeVariant *v)
{
    HLSBridgeContext *c = v->s->priv_data;

    v->ref_stream = select_reference_stream(v);
    v->init_phase = c->init_time > 0 && c->list_size > 0;
    if (c->flags & HLSBRIDGE_FLAG_DISCONT_START)
        v->discont_pending = 1;
    if (!(c->flags & HLSBRIDGE_FLAG_APPEND_LIST))
        ff_hlsbridge_warn_going_back(v);
    else if (!c->append_ended && ff_hlsbridge_has_ended(v->s, v->playlist_path)) {
        av_log(v->s, AV_LOG_ERROR, "append_list: '%s' has EXT-X-ENDLIST: the stream it "
               "describes ended, and players may have stopped reloading it; "
               "-append_ended 1 continues it all the same\n", v->playlist_path);
        return AVERROR(EINVAL);
    }
    return open_playlist(v);
}

/* The rest of a variant's outputs, in the order a failure should stop at:
 * the segment directory, the key, the segment muxer (which opens the first
 * segment file). */
static av_cold int open_variant(HLSBridgeVariant *v)
{
    HLSBridgeContext *c = v->s->priv_data;
    int ret;

    /* The segment muxer is built in memory first, so that options it
     * refuses fail before a key or a segment file is written. The leader's
     * starts now; the others' at their first key frame of the ladder
     * (start_when_ready()), numbered as the leader's segment of that time. */
    if ((ret = prepare_segment_dir(v)) < 0 ||
        (ret = probe_segmenter(v)) < 0 ||
        (ret = setup_encryption(v)) < 0)
        return ret;
    if (v == c->variants[c->leader] && missing_parameters(v) < 0) {
        v->state = HLSBRIDGE_WRITING;
        if ((ret = open_segmenter(v)) < 0)
            return ret;
    }
    init_reference_clock(v);
    av_log(v->s, AV_LOG_VERBOSE, "Playlist '%s', segments '%s', reference stream "
           "#%d, libhlsbridge %s\n", v->playlist_path, v->segment_filename,
           v->ref_stream, hlsbridge_version());
    return 0;
}

static av_cold int hlsbridge_init(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    const char *ext;
    int ret;

    if ((ret = ff_hlsbridge_open_origin(s)) < 0 ||
        (ret = check_options(s, &ext)) < 0 ||
        (ret = ff_hlsbridge_build_ladder(s)) < 0)
        return ret;
    if (c->nb_variants > 1 && !strstr(s->url, "%v")) {
        av_log(s, AV_LOG_ERROR, "Output '%s': with %d variants the playlist "
               "name needs %%v (the variant's name or index)\n", s->url,
               c->nb_variants);
        return AVERROR(EINVAL);
    }
    if ((ret = name_variants(s, ext)) < 0)
        return ret;
    if (c->master_pl_name && (ret = ff_hlsbridge_name_master(s)) < 0)
        return ret;
    if (!c->master_pl_name && c->master_pl_publish_rate)
        return ff_hlsbridge_refuse_alone(s, "master_pl_publish_rate", "master_pl_name");
    for (int i = 0; i < c->nb_variants; i++)
        if ((ret = open_variant_playlist(c->variants[i])) < 0)
            return ret;
    if ((c->flags & HLSBRIDGE_FLAG_APPEND_LIST) && (ret = ff_hlsbridge_resume_ladder(s)) < 0)
        return ret;
    c->leader       = ff_hlsbridge_choose_leader(c);
    c->ladder_start = AV_NOPTS_VALUE;
    for (int i = 0; i < c->nb_variants; i++)
        if ((ret = open_variant(c->variants[i])) < 0)
            return ret;
    if ((ret = ff_hlsbridge_open_master(s)) < 0)
        return ret;
    ff_hlsbridge_show_url(s);
    return 0;
}

/*
 * Writes the segment muxer's header: with fMP4, its init file, which is
 * then published (see close_init()). A header that could not be written
 * whole fails as any header does.
 */
static int write_segmenter_header(HLSBridgeVariant *v)
{
    int ret = avformat_write_header(v->seg, NULL);

    if (ret >= 0 && v->init.failed)
        ret = v->init.failed;
    return ret;
}

/*
 * Follows a reference packet before it is forwarded: jumps, PDT anchor.
 * Jumps are judged on pts against the furthest end seen so far: the dts of an
 * encoder with B-frames lags behind a jump by the reordering delay, so the
 * segment muxer would already have cut at the jumped key frame.
 */
static void track_reference_packet(HLSBridgeVariant *v, const AVPacket *pkt)
{
    AVFormatContext *s  = v->s;

    v->pkt.is_ref = 1;
    v->pkt.jump   = 0;
    v->pkt.pts    = pkt->pts;

    if (!v->have_ref) {
        /* A continued playlist's date-times go on, never back. */
        v->pdt_anchor_ms    = FFMAX(wall_ms(), v->pdt_floor_ms);
        v->pdt_anchor_media = 0;
        return;
    }
    if (pkt->pts - v->ref_end > v->jump_threshold ||
        v->ref_end - pkt->pts > v->back_threshold) {
        int64_t media_now = v->media_start + segment_duration(&v->cur, &v->pkt);

        av_log(s, AV_LOG_WARNING, "Timestamp jump in stream #%d: %s -> %s; "
               "the next segment starts a discontinuity\n", pkt->stream_index,
               av_ts2timestr(v->ref_end, &v->ref_tb),
               av_ts2timestr(pkt->pts, &v->ref_tb));
        v->pkt.jump         = 1;
        v->discont_pending  = 1;
        /* Date-times go on from the wall clock, never back. */
        v->pdt_anchor_ms    = FFMAX(wall_ms(), v->pdt_anchor_ms +
                                    av_rescale_q(media_now - v->pdt_anchor_media,
                                                 v->ref_tb, (AVRational){ 1, 1000 }));
        v->pdt_anchor_media = media_now;
    }
}

/* Accounts a reference packet to the segment that holds it now. */
static void account_reference_packet(HLSBridgeVariant *v, int64_t pts,
                                     int64_t dts, int64_t duration)
{
    int64_t end;

    if (dts == AV_NOPTS_VALUE)
        dts = pts;

    /* A packet without duration lasts a frame of the nominal rate, else as
     * long as the last dts step, if that step is not itself a jump (the dts
     * of a B-frame encoder crosses a jump some packets after the pts). */
    if (duration > 0)
        v->last_dur = duration;
    else if (v->frame_dur > 0)
        v->last_dur = v->frame_dur;
    else if (v->have_ref && !v->pkt.jump && dts > v->last_dts &&
             dts - v->last_dts <= v->back_threshold)
        v->last_dur = dts - v->last_dts;
    end = pts + v->last_dur;

    if (!v->cur.has_ref) {
        v->cur.has_ref = 1;
        v->cur.run_start   = pts;
        v->cur.run_end     = end;
    } else if (v->pkt.jump) {
        v->cur.acc   += v->cur.run_end - v->cur.run_start;
        v->cur.run_start  = pts;
        v->cur.run_end    = end;
    } else {
        v->cur.run_end = FFMAX(v->cur.run_end, end);
    }
    v->ref_end  = v->have_ref && !v->pkt.jump ? FFMAX(v->ref_end, end) : end;
    v->have_ref = 1;
    v->last_dts = dts;
}

/*
 * Passes a packet to the segment muxer's own write_packet. The generic layer
 * that ff_write_chained() would add in between has nothing left to do: the
 * streams of both contexts share their time bases (open_segmenter()), this
 * context's av_write_frame() layer has already checked the packet, filled in
 * its timestamps and made them non-negative where the segment muxer asks for
 * it, and the packets arrive here interleaved. Skipping it saves a packet
 * copy and about 3,200 instructions a packet.
 */
static int write_to_segmenter(HLSBridgeVariant *v, AVPacket *pkt)
{
    return ffofmt(v->seg->oformat)->write_packet(v->seg, pkt);
}

/*
 * Frees the segment muxer. A segment file it still holds open is closed and
 * removed, never ended or published.
 */
static void stop_segmenter(HLSBridgeVariant *v)
{
    enum HLSBridgeState state = v->state;
    int had_file = !!v->cur.pb;

    v->state = HLSBRIDGE_CLOSING;
    avformat_free_context(v->seg);
    v->seg   = NULL;
    v->state = state;
    if (had_file && v->cur.url)
        lose_segment(v, v->cur_number, v->cur.url);
}

/*
 * A write into the open segment file failed (a full disk, most often): avio
 * keeps the error, so every later packet of this segment would fail too. The
 * segment is dropped, and media with it until the next cut point, where
 * start_segmenter() tries again.
 */
static void drop_segment(HLSBridgeVariant *v, int err)
{
    AVFormatContext *s  = v->s;

    av_log(s, AV_LOG_ERROR, "Cannot write segment '%s': %s; it is not "
           "published, and media is dropped until the next segment\n",
           v->cur.url, av_err2str(err));
    stop_segmenter(v);
    v->discont_pending = 1;
    /* A jump still waiting for its key packet restarts there all the same. */
    if (v->state != HLSBRIDGE_RESTARTING)
        v->state = HLSBRIDGE_DROPPING;
}

/*
 * A segment muxer could not start (its first file or its init section could
 * not be written): it is freed, and media is dropped from this packet on
 * until the next cut point. Only a lack of memory is fatal.
 */
static int segmenter_failed(HLSBridgeVariant *v, int err)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;

    stop_segmenter(v);
    if (err == AVERROR(ENOMEM)) {
        /* Fatal: every later call returns it, with no segment muxer. */
        c->err = err;
        return err;
    }
    av_log(v->s, AV_LOG_ERROR, "Cannot start segment %"PRId64": %s; media is "
           "dropped until the next segment\n",
           c->start_number + v->segments_opened, av_err2str(err));
    /* Its number is used, as every variant's segment of that time. */
    if (v->segments_opened == v->start_opened) {
        v->segments_opened++;
        commit_segments(v->s, HLSBRIDGE_COMMIT_WAIT);
    }
    segment_reset(&v->cur);
    v->discont_pending = 1;
    v->state           = HLSBRIDGE_DROPPING;
    return 0;
}

/*
 * Starts a segment muxer whose first segment opens with pkt, a reference key
 * packet, so that its cut schedule starts there. Only a lack of memory is
 * fatal: after any other failure media is dropped until the next cut point.
 */
/*
 * A segment muxer starts with the number that the ladder is writing: a
 * variant that starts late (waiting for codec parameters) or after media
 * was dropped takes the number of the others' segment of the same time,
 * so that segment n means one interval in every variant. The numbers it
 * skipped were never written (see variant_passed()).
 */
static void catch_up_number(HLSBridgeVariant *v)
{
    HLSBridgeContext *c = v->s->priv_data;

    for (int i = 0; i < c->nb_variants; i++) {
        const HLSBridgeVariant *o = c->variants[i];
        if (o != v && o->cur.pb)
            v->segments_opened = FFMAX(v->segments_opened,
                                       o->cur_number - c->start_number);
    }
}

static int start_segmenter(HLSBridgeVariant *v, AVPacket *pkt)
{
    int ret;

    v->state = HLSBRIDGE_WRITING;
    catch_up_number(v);
    if ((ret = open_segmenter(v)) < 0 ||
        (ret = write_segmenter_header(v)) < 0)
        return segmenter_failed(v, ret);
    ret = write_to_segmenter(v, pkt);
    if (ret < 0 && v->cur.pb && v->cur.pb->error < 0) {
        drop_segment(v, v->cur.pb->error);
        ret = 0;
    }
    return ret;
}

static int hlsbridge_write_header(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    int ret;

    for (int i = 0; i < c->nb_variants; i++) {
        HLSBridgeVariant *v = c->variants[i];
        /* Waiting for codec parameters: the segment muxer starts later. */
        if (v->seg && (ret = write_segmenter_header(v)) < 0) {
            /* An init section lost to a full disk is a lost segment: media
             * is dropped and the segment muxer tried again at the next cut. */
            if (!v->init.failed || (ret = segmenter_failed(v, ret)) < 0)
                return ret;
        }
    }
    return c->err;
}

/*
 * At a reference key packet that ends a jump or a run of dropped media: the
 * running segment muxer (if any) ends and publishes its segment; a new one
 * starts with this packet.
 *
 * segment.c cuts at first_pts + n * segment_time. After a jump forward every
 * key frame is past that schedule until n catches up (a run of one-GOP
 * segments); after a jump back none reaches it for as long. So the segment
 * ends at the jump (at its first key packet), and a new segment muxer takes
 * over with a schedule that starts there.
 */
static int restart_segmenter(HLSBridgeVariant *v, AVPacket *pkt)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    int64_t dropped;
    int ret;

    if (v->seg) {
        /* Ends and publishes the open segment through hlsbridge_io_close2();
         * a segment that cannot be completed is reported and left out there. */
        ret = av_write_trailer(v->seg);
        if (ret < 0)
            av_log(s, AV_LOG_WARNING, "Segment muxer trailer: %s\n", av_err2str(ret));
        stop_segmenter(v);
    } else {
        dropped = segment_duration(&v->cur, &v->pkt);
        v->media_start += dropped;
        av_log(s, AV_LOG_VERBOSE, "Starting segment %"PRId64" after %s s of "
               "dropped media\n", c->start_number + v->segments_opened,
               av_ts2timestr(dropped, &v->ref_tb));
    }
    return start_segmenter(v, pkt);
}

/*
 * While media is dropped, a segment is tried again one target duration after
 * the failed one's start, where it would have been cut: once per target
 * duration gives one error line per lost segment while the disk stays full,
 * however short the GOP.
 */
static int dropped_enough(const HLSBridgeVariant *v)
{
    const HLSBridgeContext *c = v->s->priv_data;

    return !v->cur.has_ref ||
           av_compare_ts(segment_duration(&v->cur, &v->pkt), v->ref_tb,
                         c->hls_time - HLSBRIDGE_CUT_TOLERANCE, AV_TIME_BASE_Q) >= 0;
}

/*
 * fMP4: the first segment muxer starts at a reference key packet once every
 * stream has its codec parameters; after one target duration without them
 * it starts all the same (the init section then lacks them: said once).
 */
static int start_when_ready(HLSBridgeVariant *v, AVPacket *pkt)
{
    AVFormatContext *s  = v->s;
    int missing         = missing_parameters(v);

    if (missing >= 0) {
        if (!v->cur.has_ref || !dropped_enough(v))
            return 0;
        av_log(s, AV_LOG_WARNING, "Stream #%d: no codec parameters (extradata) "
               "after %s s; the init section is written without them and "
               "players may not decode it\n", missing,
               av_ts2timestr(segment_duration(&v->cur, &v->pkt), &v->ref_tb));
    }
    return restart_segmenter(v, pkt);
}

/* Passes a packet to the segment muxer; see drop_segment(). */
static int forward_packet(HLSBridgeVariant *v, AVPacket *pkt)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    int ret;

    if (!v->seg)
        return AVERROR_BUG;
    ret = write_to_segmenter(v, pkt);
    if (ret >= 0 || c->err)
        return ret;
    if (v->cur.pb && v->cur.pb->error < 0) {
        drop_segment(v, v->cur.pb->error);
        return 0;
    }
    /* The segment muxer stops for good when it cannot end or start a segment
     * at a cut: it closed its file and opened no other (end_segment() left
     * the segment out). Start again with this packet, the cut's key packet. */
    if (!v->cur.pb) {
        av_log(s, AV_LOG_WARNING, "Segment muxer stopped (%s); starting again "
               "at segment %"PRId64"\n", av_err2str(ret),
               c->start_number + v->segments_opened);
        stop_segmenter(v);
        return start_segmenter(v, pkt);
    }
    return ret;
}

/* Sends a packet where the state says; see enum HLSBridgeState. */
static int route_packet(HLSBridgeVariant *v, AVPacket *pkt, int is_key_ref)
{

    switch (v->state) {
    case HLSBRIDGE_RESTARTING:
        if (is_key_ref)
            return restart_segmenter(v, pkt);
        return v->seg ? forward_packet(v, pkt) : 0;
    case HLSBRIDGE_DROPPING:
        return is_key_ref && dropped_enough(v) ? restart_segmenter(v, pkt) : 0;
    case HLSBRIDGE_STARTING:
        return is_key_ref ? start_when_ready(v, pkt) : 0;
    default:
        return forward_packet(v, pkt);
    }
}

/*
 * A video stream's frame size after new parameter sets: the codec's parser
 * reads them, with the packet that uses them, as a demuxer would. The size
 * goes into the init section's track and sample entry. Unknown: unchanged.
 */
static void probe_frame_size(AVCodecParameters *par, const AVPacket *pkt)
{
    AVCodecParserContext *pc = av_parser_init(par->codec_id);
    AVCodecContext *avctx    = pc ? avcodec_alloc_context3(NULL) : NULL;
    uint8_t *out;
    int out_size;

    if (avctx && avcodec_parameters_to_context(avctx, par) >= 0) {
        pc->flags |= PARSER_FLAG_COMPLETE_FRAMES;
        av_parser_parse2(pc, avctx, &out, &out_size, pkt->data, pkt->size,
                         pkt->pts, pkt->dts, 0);
        if (pc->width > 0 && pc->height > 0) {
            par->width  = pc->width;
            par->height = pc->height;
        }
    }
    avcodec_free_context(&avctx);
    av_parser_close(pc);
}

/*
 * New codec parameters in a packet (an RTMP/FLV encoder that changed its
 * resolution, say): they become the stream's, and the next reference key
 * packet starts a new segment muxer, with a discontinuity; with fMP4 its
 * init section holds them, and the core publishes it as a new EXT-X-MAP.
 */
static int take_new_extradata(HLSBridgeVariant *v, const AVPacket *pkt)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    AVCodecParameters *par  = s->streams[pkt->stream_index]->codecpar;
    size_t size;
    const uint8_t *data = av_packet_get_side_data(pkt, AV_PKT_DATA_NEW_EXTRADATA,
                                                  &size);
    int ret, first;

    if (!data || !size || size > INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE ||
        (size == par->extradata_size && !memcmp(data, par->extradata, size)))
        return 0;
    first = !par->extradata_size;
    if ((ret = ff_alloc_extradata(par, size)) < 0)
        return ret;
    memcpy(par->extradata, data, size);
    if (par->codec_type == AVMEDIA_TYPE_VIDEO)
        probe_frame_size(par, pkt);
    /* Parameters that were missing, not changed (a bitstream filter's
     * first output): MPEG-TS carries them in band, and the first fMP4
     * segment muxer waits for them (HLSBRIDGE_STARTING); one that started
     * without them (after waiting a target duration) needs a new init
     * section all the same. */
    if (first && (c->segment_type != HLSBRIDGE_SEGMENT_FMP4 || !v->seg))
        return 0;
    av_log(s, AV_LOG_INFO, "Stream #%d: new codec parameters; the next "
           "segment starts a discontinuity%s\n", pkt->stream_index,
           c->segment_type == HLSBRIDGE_SEGMENT_FMP4 ?
           " with a new init section" : "");
    v->discont_pending = 1;
    if (v->state == HLSBRIDGE_WRITING)
        v->state = HLSBRIDGE_RESTARTING;
    return 0;
}

/*
 * Whether v may start with this reference key packet: the leader starts
 * the ladder at its first one; every other variant at its first one at or
 * after that time (within the cut tolerance), so that every variant's cut
 * schedule starts together and segment n covers the same interval in each.
 */
static int ladder_started(AVFormatContext *s, HLSBridgeVariant *v,
                          const AVPacket *pkt)
{
    HLSBridgeContext *c = s->priv_data;
    int64_t t = av_rescale_q(pkt->pts, v->ref_tb, AV_TIME_BASE_Q);

    if (v == c->variants[c->leader]) {
        c->ladder_start = t;
        return 1;
    }
    return c->ladder_start != AV_NOPTS_VALUE &&
           t >= c->ladder_start - HLSBRIDGE_CUT_TOLERANCE;
}

static int hlsbridge_write_packet(AVFormatContext *s, AVPacket *pkt)
{
    HLSBridgeContext *c = s->priv_data;
    HLSBridgeVariant *v = c->variant_of[pkt->stream_index];
    int is_ref = pkt->stream_index == v->ref_stream && pkt->pts != AV_NOPTS_VALUE;
    int is_key_ref = is_ref && (pkt->flags & AV_PKT_FLAG_KEY);
    /* A segment format that interleaves takes the packet's content into its
     * queue: its timing is kept here for the accounting after forwarding. */
    int64_t pts = pkt->pts, dts = pkt->dts, duration = pkt->duration;
    int outer = pkt->stream_index;
    int ret;

    if (c->err)
        return c->err;
    if (pkt->side_data_elems && (ret = take_new_extradata(v, pkt)) < 0)
        return c->err = ret;
    /* Every segment starts with a key frame of the reference stream: what
     * comes before the first one (a copy joined mid-GOP) could not be
     * decoded anyway. */
    if (!v->have_ref && (!is_key_ref || !ladder_started(s, v, pkt))) {
        if (!v->dropped_before_key++)
            av_log(s, AV_LOG_VERBOSE, "Dropping packets until the first key "
                   "frame of stream #%d%s\n", v->ref_stream,
                   c->nb_variants > 1 ? " at the ladder's start" : "");
        return 0;
    }

    v->pkt.is_ref = 0;
    v->pkt.jump   = 0;
    if (is_ref)
        track_reference_packet(v, pkt);
    /* Before the first segment muxer, a jump changes nothing: it starts at
     * a key packet all the same. */
    if (v->pkt.jump && v->state != HLSBRIDGE_STARTING)
        v->state = HLSBRIDGE_RESTARTING;
    if (is_key_ref && v->switch_pts != AV_NOPTS_VALUE && pkt->pts >= v->switch_pts) {
        v->switch_pts = AV_NOPTS_VALUE;
        if (v->state == HLSBRIDGE_WRITING)
            v->state = HLSBRIDGE_RESTARTING;
    }

    /* Not interleaved: the segment muxer handles this very packet now, so a
     * segment it closes meanwhile was ended by this packet. */
    v->pkt.in_flight  = 1;
    pkt->stream_index = c->inner_index[outer];
    ret = route_packet(v, pkt, is_key_ref);
    pkt->stream_index = outer;
    v->pkt.in_flight  = 0;

    if (is_ref)
        account_reference_packet(v, pts, dts, duration);
    if (is_key_ref && c->mv && !c->mv_ready)
        ff_hlsbridge_update_multivariant(s, HLSBRIDGE_MULTIVARIANT_IF_NEEDED);
    if (c->err)
        return c->err;
    return ret;
}

/* What the publisher did, and how long a closed segment took to be listed. */
static void report_publication(HLSBridgeVariant *v)
{
    AVFormatContext *s  = v->s;
    hlsbridge_playlist_stats st;

    if (hlsbridge_playlist_get_stats(v->pl, &st) < 0)
        return;
    if (st.segments_lost || st.writes_failed)
        av_log(s, AV_LOG_WARNING, "%"PRIu64" segment(s) not listed, %"PRIu64
               " playlist write(s) failed in all; the messages above say why\n",
               st.segments_lost, st.writes_failed);
    av_log(s, AV_LOG_VERBOSE, "Playlist writes: %"PRIu64" ok, %"PRIu64" failed; "
           "segment close to playlist published: p50 %"PRId64" us, p99 %"PRId64
           " us, max %"PRId64" us over %"PRIu64" segments\n",
           st.writes_ok, st.writes_failed, st.publish_latency_p50_us,
           st.publish_latency_p99_us, st.publish_latency_max_us,
           st.publish_latency_samples);
}

/*
 * Files that left the window must stay for RFC 8216 6.2.2's hold time: wait
 * for it (it is bounded) unless the application interrupts, then delete
 * them, but for the hls_delete_threshold newest that stay anyway.
 */
static void wait_for_deletions(HLSBridgeVariant *v)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_playlist_stats stats;
    int keep = av_opt_is_set_to_default_by_name(c, "hls_delete_threshold", 0) == 0 ?
               c->delete_threshold : 0;
    int pending = hlsbridge_playlist_delete_expired(v->pl, 0);
    int64_t bound, deadline;

    if (pending <= keep || hlsbridge_playlist_get_stats(v->pl, &stats) < 0)
        return;
    /* The longest hold: a segment's duration plus the longest playlist that
     * listed it, whose window may hold more than list_size segments (never
     * less than three target durations). */
    bound    = ((int64_t)FFMAX(c->list_size, stats.segment_count) + 1) *
               (int64_t)stats.target_duration + 1;
    deadline = av_gettime_relative() + bound * AV_TIME_BASE;
    av_log(s, AV_LOG_INFO, "Waiting up to %"PRId64" s for %d removed segment "
           "file(s) to expire before deleting them\n", bound, pending - keep);
    while (pending > keep) {
        if (av_gettime_relative() > deadline ||
            (s->interrupt_callback.callback &&
             s->interrupt_callback.callback(s->interrupt_callback.opaque))) {
            av_log(s, AV_LOG_WARNING, "%d removed segment file(s) left in "
                   "place\n", pending - keep);
            return;
        }
        av_usleep(100000);
        pending = hlsbridge_playlist_delete_expired(v->pl, 0);
    }
}

/* Ends v's segment muxer, publishing its last segment; returns what its
 * trailer did. */
static int end_segmenter(HLSBridgeVariant *v)
{
    HLSBridgeContext *c = v->s->priv_data;
    int ret;

    /* After a fatal error the segment muxer may be half built: it ends in
     * deinit without publishing; what was published is still finished. */
    if (c->err)
        return c->err;
    if (!v->seg)
        return 0; /* media was being dropped: nothing to end */
    ret = av_write_trailer(v->seg);
    if (ret < 0)
        av_log(v->s, AV_LOG_ERROR, "Segment muxer trailer: %s\n", av_err2str(ret));
    return ret;
}

/* The core lists every segment handed over (or loses it) and adds ENDLIST,
 * in one publication. */
static int finish_variant(HLSBridgeVariant *v)
{
    int ret = hlsbridge_playlist_finish(v->pl);

    take_publish_errors(v);
    report_publication(v);
    if (ret < 0)
        av_log(v->s, AV_LOG_ERROR, "The final playlist '%s' was not written; "
               "the last good one stays in place\n", v->playlist_path);
    return ret;
}

static int hlsbridge_write_trailer(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    int ret = 0, trailer_ret = 0;

    for (int i = 0; i < c->nb_variants; i++)
        trailer_ret = FFMIN(trailer_ret, end_segmenter(c->variants[i]));
    /* What waits for a variant that ended early is decided now: a last
     * segment that not every variant has is listed by none. */
    commit_segments(s, HLSBRIDGE_COMMIT_FINAL);
    for (int i = 0; i < c->nb_variants; i++)
        ret = FFMIN(ret, finish_variant(c->variants[i]));
    if (ret < 0)
        return ret;
    ff_hlsbridge_update_multivariant(s, HLSBRIDGE_MULTIVARIANT_FINAL);

    if (c->flags & HLSBRIDGE_FLAG_DELETE_SEGMENTS)
        for (int i = 0; i < c->nb_variants; i++)
            wait_for_deletions(c->variants[i]);
    if (c->err)
        return c->err;
    return FFMIN(trailer_ret, 0);
}

static int hlsbridge_check_bitstream(AVFormatContext *s, AVStream *st,
                                     const AVPacket *pkt)
{
    HLSBridgeContext *c = s->priv_data;
    HLSBridgeVariant *v = c->variant_of[st->index];
    AVFormatContext *seg = v->seg;
    int inner = c->inner_index[st->index];
    const FFOutputFormat *ofmt;
    int ret;

    /* No segment muxer while media is dropped: ask again at a later packet.
     * Before the first fMP4 one, a stream without codec parameters gets the
     * filter whose first output carries them as new extradata, which the
     * init section waits for: ADTS AAC the one the mp4 muxer would ask for,
     * video (H.264, HEVC, AV1 copied from MPEG-TS) the one that reads its
     * in-band parameter sets. */
    if (!seg) {
        if (v->state != HLSBRIDGE_STARTING || st->codecpar->extradata_size)
            return 0;
        if (st->codecpar->codec_id == AV_CODEC_ID_AAC && pkt->size > 2 &&
            (AV_RB16(pkt->data) & 0xfff0) == 0xfff0)
            return ff_stream_add_bitstream_filter(st, "aac_adtstoasc", NULL);
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
            return ff_stream_add_bitstream_filter(st, "extract_extradata", NULL);
        return 0;
    }
    ofmt = ffofmt(seg->oformat);
    if (!ofmt->check_bitstream)
        return 1;
    ret = ofmt->check_bitstream(seg, seg->streams[inner], pkt);
    if (ret == 1) {
        /* Take over the filter that the container asked for. */
        FFStream *const sti  = ffstream(st);
        FFStream *const ssti = ffstream(seg->streams[inner]);
        sti->bsfc  = ssti->bsfc;
        ssti->bsfc = NULL;
    }
    return ret;
}

static void free_variant(HLSBridgeVariant *v)
{
    v->state = HLSBRIDGE_CLOSING;
    avformat_free_context(v->seg);
    v->seg = NULL;
    for (int i = 0; i < v->nb_done; i++)
        free_done(&v->done[i]);
    hlsbridge_playlist_close(v->pl);
    av_freep(&v->cur.url);
    av_freep(&v->init.url);
    av_freep(&v->init_template);
    av_freep(&v->playlist_path);
    av_freep(&v->segment_filename);
    av_freep(&v->enc.uri);
    av_freep(&v->enc.key_file);
    wipe(v->enc.key, sizeof(v->enc.key));
    av_freep(&v->streams);
    av_freep(&v->name);
    av_freep(&v->agroup);
    av_freep(&v->language);
    av_free(v);
}

static void hlsbridge_deinit(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;

    /* The multivariant playlist reads the variants' playlists: it goes first. */
    hlsbridge_multivariant_close(c->mv);
    c->mv = NULL;
    for (int i = 0; i < c->nb_variants; i++)
        free_variant(c->variants[i]);
    av_freep(&c->variants);
    c->nb_variants = 0;
    av_freep(&c->variant_of);
    av_freep(&c->inner_index);
    av_freep(&c->master_path);
    /* After every handle that publishes through its target. */
    ff_hlsbridge_close_origin(s);
}

#define OFFSET(x) offsetof(HLSBridgeContext, x)
#define E AV_OPT_FLAG_ENCODING_PARAM
static const AVOption options[] = {
    { "hls_time", "set the target segment duration", OFFSET(hls_time), AV_OPT_TYPE_DURATION, { .i64 = 2000000 }, 0, INT64_MAX, E },
    { "hls_init_time", "set the duration of the first hls_list_size segments of a live playlist (0: hls_time)", OFFSET(init_time), AV_OPT_TYPE_DURATION, { .i64 = 0 }, 0, INT64_MAX, E },
    { "hls_list_size", "set the live window in segments (0 keeps all)", OFFSET(list_size), AV_OPT_TYPE_INT, { .i64 = 5 }, 0, INT_MAX, E },
    { "hls_playlist_type", "set the playlist type", OFFSET(playlist_type), AV_OPT_TYPE_INT, { .i64 = HLSBRIDGE_TYPE_LIVE }, HLSBRIDGE_TYPE_LIVE, HLSBRIDGE_TYPE_VOD, E, .unit = "pl_type" },
    { "live",  "sliding window of hls_list_size segments, ENDLIST at the end", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_TYPE_LIVE  }, INT_MIN, INT_MAX, E, .unit = "pl_type" },
    { "event", "EVENT playlist: keeps every segment, ENDLIST at the end",       0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_TYPE_EVENT }, INT_MIN, INT_MAX, E, .unit = "pl_type" },
    { "vod",   "VOD playlist: keeps every segment, ENDLIST on every write",     0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_TYPE_VOD   }, INT_MIN, INT_MAX, E, .unit = "pl_type" },
    { "hls_segment_filename", "set the segment file name template (default: <playlist name>%d.ts, or .m4s for fmp4, beside the playlist)", OFFSET(segment_filename), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "hls_base_url", "set a prefix for every segment URI in the playlist", OFFSET(base_url), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "hls_flags", "set flags affecting the playlist", OFFSET(flags), AV_OPT_TYPE_FLAGS, { .i64 = 0 }, 0, UINT_MAX, E, .unit = "flags" },
    { "delete_segments",   "delete segment files that left the window, after the hold time of RFC 8216 6.2.2", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_FLAG_DELETE_SEGMENTS   }, 0, UINT_MAX, E, .unit = "flags" },
    { "program_date_time", "add EXT-X-PROGRAM-DATE-TIME (wall clock at the first packet plus media time)", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_FLAG_PROGRAM_DATE_TIME }, 0, UINT_MAX, E, .unit = "flags" },
    { "discont_start",     "mark the first segment with EXT-X-DISCONTINUITY", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_FLAG_DISCONT_START     }, 0, UINT_MAX, E, .unit = "flags" },
    { "segment_fsync", "make each segment file and its directory durable (fsync, on the publisher thread) before it is listed", OFFSET(segment_fsync), AV_OPT_TYPE_BOOL, { .i64 = 1 }, 0, 1, E },
    { "start_number", "set the number of the first segment and the first media sequence", OFFSET(start_number), AV_OPT_TYPE_INT64, { .i64 = 0 }, 0, INT64_MAX, E },
    { "segment_format", "set the container of the segment files", OFFSET(segment_format), AV_OPT_TYPE_STRING, { .str = "mpegts" }, 0, 0, E },
    { "segment_format_options", "set options of the segment container", OFFSET(segment_format_options), AV_OPT_TYPE_DICT, { .str = NULL }, 0, 0, E },
    { "segment_options", "set options of the nested segment muxer", OFFSET(segment_options), AV_OPT_TYPE_DICT, { .str = NULL }, 0, 0, E },
    { "hls_segment_type", "set the segment container", OFFSET(segment_type), AV_OPT_TYPE_INT, { .i64 = HLSBRIDGE_SEGMENT_MPEGTS }, HLSBRIDGE_SEGMENT_MPEGTS, HLSBRIDGE_SEGMENT_FMP4, E, .unit = "segment_type" },
    { "mpegts", "MPEG-TS segments (.ts)", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_SEGMENT_MPEGTS }, INT_MIN, INT_MAX, E, .unit = "segment_type" },
    { "fmp4", "fragmented MP4 (CMAF) segments (.m4s) with an init section (EXT-X-MAP)", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_SEGMENT_FMP4 }, INT_MIN, INT_MAX, E, .unit = "segment_type" },
    { "hls_fmp4_init_filename", "set the fMP4 init file name, beside the playlist unless it has a directory; a new init section after a change of codec parameters gets _1, _2... before the extension", OFFSET(init_filename), AV_OPT_TYPE_STRING, { .str = "init.mp4" }, 0, 0, E },
    { "append_list", "continue the playlist at the output (written by hlsbridge): sequences, numbering, window and target duration go on, the first new segment starts a discontinuity", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_FLAG_APPEND_LIST }, 0, UINT_MAX, E, .unit = "flags" },
    { "append_ended", "with append_list: also continue a live or event playlist that has EXT-X-ENDLIST (the tag goes); without it such a playlist is refused", OFFSET(append_ended), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, E },
    { "temp_file",         "accepted: every playlist is written to a temp file, fsynced and renamed anyway", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_FLAG_TEMP_FILE }, 0, UINT_MAX, E, .unit = "flags" },
    { "omit_endlist",      "write no EXT-X-ENDLIST when the stream ends (live and event playlists)", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_FLAG_OMIT_ENDLIST }, 0, UINT_MAX, E, .unit = "flags" },
    { "independent_segments", "add EXT-X-INDEPENDENT-SEGMENTS: every segment starts with a key frame (always with fmp4)", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_FLAG_INDEPENDENT_SEGMENTS }, 0, UINT_MAX, E, .unit = "flags" },
    { "strftime", "name segment files with strftime (local time) instead of a number; each must be new", OFFSET(strftime), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, E },
    { "strftime_mkdir", "with strftime: create the directory of each segment file", OFFSET(strftime_mkdir), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, E },
    { "hls_key_info_file", "encrypt segments with AES-128: file of the key URI, the key file's path and an optional IV, one per line", OFFSET(enc_opts.info_file), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "periodic_rekey",    "re-read hls_key_info_file before each segment: a new key or IV starts a new EXT-X-KEY", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_FLAG_PERIODIC_REKEY }, 0, UINT_MAX, E, .unit = "flags" },
    { "hls_enc", "encrypt segments with AES-128, the key written to <playlist>.key", OFFSET(enc_opts.enabled), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, E },
    { "hls_enc_key", "with hls_enc: the key, 32 hexadecimal digits (default: random)", OFFSET(enc_opts.key_hex), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "hls_enc_key_url", "with hls_enc: the key URI in the playlist (default: the key file's name)", OFFSET(enc_opts.key_url), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "hls_enc_iv", "with hls_enc: the IV, 32 hexadecimal digits (default: the number of the key's first segment)", OFFSET(enc_opts.iv_hex), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "hls_delete_threshold", "with delete_segments: removed segment files kept on disk past their RFC 8216 6.2.2 hold", OFFSET(delete_threshold), AV_OPT_TYPE_INT, { .i64 = 1 }, 1, INT_MAX, E },
    { "hls_segment_options", "set options of the segment container (same as segment_format_options)", OFFSET(hls_segment_options), AV_OPT_TYPE_DICT, { .str = NULL }, 0, 0, E },
    { "hls_start_number_source", "set where start_number comes from", OFFSET(start_number_source), AV_OPT_TYPE_INT, { .i64 = HLSBRIDGE_START_GENERIC }, 0, 3, E, .unit = "start_number_source" },
    { "generic",  "the start_number option (the default)", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_START_GENERIC }, 0, 3, E, .unit = "start_number_source" },
    { "epoch",    "seconds since the Unix epoch", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_START_EPOCH }, 0, 3, E, .unit = "start_number_source" },
    { "epoch_us", "microseconds since the Unix epoch", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_START_EPOCH_US }, 0, 3, E, .unit = "start_number_source" },
    { "datetime", "the local date and time as YYYYMMDDhhmmss", 0, AV_OPT_TYPE_CONST, { .i64 = HLSBRIDGE_START_DATETIME }, 0, 3, E, .unit = "start_number_source" },
    { "var_stream_map", "make an ABR ladder: variants separated by spaces, each a comma-separated list of v:N, a:N and name:, agroup:, language:, default: attributes; %v in the output, segment and init file names becomes each variant's name (or index)", OFFSET(var_stream_map), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "master_pl_name", "write a multivariant playlist of this name beside the variants' playlists (above a %v directory)", OFFSET(master_pl_name), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "master_pl_publish_rate", "also rewrite the multivariant playlist every this many segments (0: only when a measured bit rate passes the published one by 10%, and at the end)", OFFSET(master_pl_publish_rate), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, INT_MAX, E },
#define HLS_FLAG(name, flag) \
    { name, "refused: not supported (the error says why)", 0, AV_OPT_TYPE_CONST, { .i64 = flag }, 0, UINT_MAX, E, .unit = "flags" }
    HLS_FLAG("single_file", HLSBRIDGE_FLAG_SINGLE_FILE),
    HLS_FLAG("round_durations", HLSBRIDGE_FLAG_ROUND_DURATIONS),
    HLS_FLAG("split_by_time", HLSBRIDGE_FLAG_SPLIT_BY_TIME),
    HLS_FLAG("second_level_segment_index", HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_INDEX),
    HLS_FLAG("second_level_segment_duration", HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_DURATION),
    HLS_FLAG("second_level_segment_size", HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_SIZE),
    HLS_FLAG("iframes_only", HLSBRIDGE_FLAG_IFRAMES_ONLY),
#undef HLS_FLAG
    /* FFmpeg's hls muxer's options not implemented here: refused when set. */
#define REFUSED "refused when set: not supported (the error says why)"
    { "hls_vtt_options", REFUSED, OFFSET(hls.vtt_options), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "hls_allow_cache", REFUSED, OFFSET(hls.allow_cache), AV_OPT_TYPE_INT, { .i64 = -1 }, INT_MIN, INT_MAX, E },
    { "hls_segment_size", REFUSED, OFFSET(hls.segment_size), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, INT_MAX, E },
    { "hls_subtitle_path", REFUSED, OFFSET(hls.subtitle_path), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "hls_fmp4_init_resend", REFUSED, OFFSET(hls.fmp4_init_resend), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, E },
    { "method", "set the HTTP method of uploads to an http:// output (default PUT)", OFFSET(hls.method), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "http_user_agent", "set the User-Agent of requests to an http:// output", OFFSET(hls.http_user_agent), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "cc_stream_map", REFUSED, OFFSET(hls.cc_stream_map), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "http_persistent", "keep connections to an http:// output open for the next uploads (-1: yes)", OFFSET(hls.http_persistent), AV_OPT_TYPE_BOOL, { .i64 = -1 }, -1, 1, E },
    { "timeout", "set the socket I/O timeout of each request to an http:// output (-1: 5 s); a timeout is retried", OFFSET(hls.timeout), AV_OPT_TYPE_DURATION, { .i64 = -1 }, -1, INT_MAX, E },
    { "http_retry_time", "set how long an upload that failed with a 5xx, a refused connection or a timeout is retried (backoff 0.1 s doubling to 2 s; -1: 30 s); a segment not uploaded by then is left out", OFFSET(origin.retry_time), AV_OPT_TYPE_DURATION, { .i64 = -1 }, -1, INT64_MAX, E },
    { "http_queue_size", "set how many segments of a variant may wait for their upload, one more is dropped (a discontinuity); 0: 16", OFFSET(origin.queue_size), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 1024, E },
    { "http_spool_dir", "set the local directory where files wait for their upload (a private directory is made in it; default $TMPDIR or /tmp)", OFFSET(origin.spool_parent), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
    { "ignore_io_errors", REFUSED, OFFSET(hls.ignore_io_errors), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, E },
    { "headers", "set custom HTTP headers of requests to an http:// output (lines ending in \\r\\n)", OFFSET(hls.headers), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, E },
#undef REFUSED
    { NULL },
};

static const AVClass hlsbridge_class = {
    .class_name = "hlsbridge muxer",
    .item_name  = av_default_item_name,
    .option     = options,
    .version    = LIBAVUTIL_VERSION_INT,
};

const FFOutputFormat ff_hlsbridge_muxer = {
    .p.name           = "hlsbridge",
    .p.long_name      = NULL_IF_CONFIG_SMALL("HLS with atomic, durable playlist updates (libhlsbridge)"),
    .p.extensions     = "m3u8",
    .p.audio_codec    = AV_CODEC_ID_AAC,
    .p.video_codec    = AV_CODEC_ID_H264,
    .p.flags          = AVFMT_NOFILE | AVFMT_GLOBALHEADER | AVFMT_NODIMENSIONS |
                        AVFMT_VARIABLE_FPS,
    .p.priv_class     = &hlsbridge_class,
    .priv_data_size   = sizeof(HLSBridgeContext),
    .init             = hlsbridge_init,
    .write_header     = hlsbridge_write_header,
    .write_packet     = hlsbridge_write_packet,
    .write_trailer    = hlsbridge_write_trailer,
    .deinit           = hlsbridge_deinit,
    .check_bitstream  = hlsbridge_check_bitstream,
};
