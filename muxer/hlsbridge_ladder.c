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
 * The ladder of the hlsbridge muxer: variants from var_stream_map, the
 * multivariant playlist that lists them (codecs, sizes, bit rates), and
 * continuing the playlists of an earlier run (append_list). See
 * hlsbridge_mux.h.
 */

#include <inttypes.h>
#include <string.h>

#include <hlsbridge/hlsbridge.h>

#include "libavutil/avstring.h"
#include "libavutil/bprint.h"
#include "libavutil/mem.h"
#include "libavutil/opt.h"

#include "libavcodec/avcodec.h"

#include "av1.h"
#include "avformat.h"
#include "avio.h"
#include "hlsbridge_mux.h"
#include "urldecode.h"

/* append_list with the options it cannot go with. */
av_cold int ff_hlsbridge_check_append(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;

    if (!(c->flags & HLSBRIDGE_FLAG_APPEND_LIST))
        return c->append_ended ?
               ff_hlsbridge_refuse_alone(s, "append_ended", "-hls_flags append_list") : 0;
    if (c->playlist_type == HLSBRIDGE_TYPE_VOD) {
        av_log(s, AV_LOG_ERROR, "hls_flags append_list: a vod playlist is complete; "
               "it cannot be continued\n");
        return AVERROR(EINVAL);
    }
    if (c->enc_opts.enabled) {
        av_log(s, AV_LOG_ERROR, "hls_flags append_list with hls_enc: a new key would "
               "replace the key file that the listed segments name; use "
               "hls_key_info_file with a key URI of its own\n");
        return AVERROR(EINVAL);
    }
    return 0;
}

/* A new variant of the ladder, named name (what %v becomes). */
static av_cold HLSBridgeVariant *add_variant(AVFormatContext *s, const char *name)
{
    HLSBridgeContext *c = s->priv_data;
    HLSBridgeVariant *v = av_mallocz(sizeof(*v));

    if (!v || av_dynarray_add_nofree(&c->variants, &c->nb_variants, v) < 0) {
        av_free(v);
        return NULL;
    }
    v->s          = s;
    v->index      = c->nb_variants - 1;
    v->name       = av_strdup(name);
    v->switch_pts = AV_NOPTS_VALUE;
    v->pdt_floor_ms = HLSBRIDGE_NO_PDT;
    v->enc.info_file = c->enc_opts.info_file;
    v->enc.enabled   = c->enc_opts.enabled;
    v->enc.key_hex   = c->enc_opts.key_hex;
    v->enc.key_url   = c->enc_opts.key_url;
    v->enc.iv_hex    = c->enc_opts.iv_hex;
    v->streams    = av_calloc(s->nb_streams, sizeof(*v->streams));
    return v->name && v->streams ? v : NULL;
}

/* Stream index in s of the n-th stream of that type; -1 when there is none. */
static int find_stream(const AVFormatContext *s, enum AVMediaType type, unsigned n)
{
    for (int i = 0; i < s->nb_streams; i++)
        if (s->streams[i]->codecpar->codec_type == type && !n--)
            return i;
    return -1;
}

static const char *media_type_name(char type)
{
    return type == 'v' ? "video" : type == 'a' ? "audio" : "subtitle";
}

/* Puts stream i of s into v, as its next inner stream. */
static void assign_stream(HLSBridgeContext *c, HLSBridgeVariant *v, int i)
{
    c->variant_of[i]  = v;
    c->inner_index[i] = v->nb_streams;
    v->streams[v->nb_streams++] = i;
}

/*
 * One variant of var_stream_map: its streams, which must exist and are not
 * subtitles, and its role: an audio rendition of a group (audio only, with
 * agroup), or a variant stream.
 */
static av_cold int map_variant(AVFormatContext *s, const hlsbridge_variant_spec *spec,
                               int n)
{
    HLSBridgeContext *c = s->priv_data;
    HLSBridgeVariant *v;
    char index[16];
    int has_video = 0, has_audio = 0;

    snprintf(index, sizeof(index), "%d", n);
    if (!(v = add_variant(s, spec->name ? spec->name : index)))
        return AVERROR(ENOMEM);
    if (spec->sgroup || spec->ccgroup) {
        av_log(s, AV_LOG_ERROR, "var_stream_map: variant #%d: %s is not "
               "supported: subtitle and closed-caption groups are not\n", n + 1,
               spec->sgroup ? "sgroup" : "ccgroup");
        return AVERROR(EINVAL);
    }
    for (size_t k = 0; k < spec->nb_streams; k++) {
        const hlsbridge_stream_ref *ref = &spec->streams[k];
        enum AVMediaType type = ref->type == 'v' ? AVMEDIA_TYPE_VIDEO :
                                ref->type == 'a' ? AVMEDIA_TYPE_AUDIO :
                                AVMEDIA_TYPE_SUBTITLE;
        int i = find_stream(s, type, ref->index);
        if (type == AVMEDIA_TYPE_SUBTITLE) {
            av_log(s, AV_LOG_ERROR, "var_stream_map: variant #%d (s:%u): "
                   "subtitle variants are not supported\n", n + 1, ref->index);
            return AVERROR(EINVAL);
        }
        if (i < 0) {
            av_log(s, AV_LOG_ERROR, "var_stream_map: variant #%d (%c:%u): the "
                   "output has no %s stream #%u\n", n + 1, ref->type, ref->index,
                   media_type_name(ref->type), ref->index);
            return AVERROR(EINVAL);
        }
        assign_stream(c, v, i);
        has_video |= type == AVMEDIA_TYPE_VIDEO;
        has_audio |= type == AVMEDIA_TYPE_AUDIO;
    }
    if (spec->agroup && has_video && has_audio) {
        av_log(s, AV_LOG_ERROR, "var_stream_map: variant #%d: a variant with "
               "agroup takes its audio from the group: give its audio a "
               "variant of its own with agroup:%s\n", n + 1, spec->agroup);
        return AVERROR(EINVAL);
    }
    v->kind = spec->agroup && !has_video ? HLSBRIDGE_VARIANT_AUDIO :
                                           HLSBRIDGE_VARIANT_STREAM;
    if (v->kind == HLSBRIDGE_VARIANT_STREAM && (spec->language || spec->is_default)) {
        av_log(s, AV_LOG_ERROR, "var_stream_map: variant #%d: %s is for an "
               "audio rendition (audio streams only, with agroup)\n", n + 1,
               spec->language ? "language" : "default");
        return AVERROR(EINVAL);
    }
    v->is_default = spec->is_default;
    if ((spec->agroup && !(v->agroup = av_strdup(spec->agroup))) ||
        (spec->language && !(v->language = av_strdup(spec->language))))
        return AVERROR(ENOMEM);
    return 0;
}

/* Every audio group that a variant names has an audio rendition, and each
 * group of renditions is named by a variant. */
static av_cold int check_audio_groups(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;

    for (int i = 0; i < c->nb_variants; i++) {
        const HLSBridgeVariant *v = c->variants[i];
        int found = 0;
        if (!v->agroup)
            continue;
        for (int k = 0; k < c->nb_variants; k++)
            found |= c->variants[k]->kind != v->kind && c->variants[k]->agroup &&
                     !strcmp(c->variants[k]->agroup, v->agroup);
        if (!found) {
            av_log(s, AV_LOG_ERROR, "var_stream_map: variant #%d: agroup:%s %s\n",
                   i + 1, v->agroup, v->kind == HLSBRIDGE_VARIANT_AUDIO ?
                   "is named by no variant with video" :
                   "has no audio-only variant (a:N,agroup:...)");
            return AVERROR(EINVAL);
        }
    }
    return 0;
}

/*
 * The ladder: the variants of var_stream_map, or one variant of every
 * stream. Each stream goes to exactly one variant.
 */
av_cold int ff_hlsbridge_build_ladder(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_stream_map map = { 0 };
    char err[512];
    int ret = 0;

    c->variant_of  = av_calloc(s->nb_streams, sizeof(*c->variant_of));
    c->inner_index = av_calloc(s->nb_streams, sizeof(*c->inner_index));
    if (!c->variant_of || !c->inner_index)
        return AVERROR(ENOMEM);
    if (!c->var_stream_map) {
        HLSBridgeVariant *v = add_variant(s, "0");
        if (!v)
            return AVERROR(ENOMEM);
        for (int i = 0; i < s->nb_streams; i++)
            assign_stream(c, v, i);
        return 0;
    }
    if ((ret = hlsbridge_stream_map_parse(c->var_stream_map, &map, err, sizeof(err))) < 0) {
        av_log(s, AV_LOG_ERROR, "%s\n", err);
        return ret;
    }
    for (size_t n = 0; n < map.nb_variants && ret >= 0; n++)
        ret = map_variant(s, &map.variants[n], n);
    hlsbridge_stream_map_free(&map);
    if (ret < 0)
        return ret;
    for (int i = 0; i < s->nb_streams; i++) {
        if (!c->variant_of[i]) {
            av_log(s, AV_LOG_ERROR, "var_stream_map: stream #%d (%s) is in no "
                   "variant; map it in one or leave it out of the output\n", i,
                   av_get_media_type_string(s->streams[i]->codecpar->codec_type));
            return AVERROR(EINVAL);
        }
    }
    return check_audio_groups(s);
}

/* Two variants must not write the same file. */
av_cold int ff_hlsbridge_check_distinct(AVFormatContext *s, size_t offset, const char *what)
{
    HLSBridgeContext *c = s->priv_data;

    for (int i = 0; i < c->nb_variants; i++) {
        for (int k = 0; k < i; k++) {
            const char *a = *(char **)((uint8_t *)c->variants[i] + offset);
            const char *b = *(char **)((uint8_t *)c->variants[k] + offset);
            if (a && b && !strcmp(a, b)) {
                av_log(s, AV_LOG_ERROR, "%s: variants #%d and #%d would both "
                       "write '%s'; put %%v in it\n", what, k + 1, i + 1, a);
                return AVERROR(EINVAL);
            }
        }
    }
    return 0;
}

/*
 * The variant whose first key frame opens the others' first segments, so
 * that every variant's cut schedule starts at the same time: of those
 * timed by video, the one whose reference stream comes first (its packets
 * come first when timestamps are equal); else the first.
 */
av_cold int ff_hlsbridge_choose_leader(const HLSBridgeContext *c)
{
    int leader = 0, best = INT_MAX;

    for (int i = 0; i < c->nb_variants; i++) {
        const HLSBridgeVariant *v = c->variants[i];
        const AVStream *ref = v->s->streams[v->ref_stream];
        if (ref->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && v->ref_stream < best) {
            best   = v->ref_stream;
            leader = i;
        }
    }
    return leader;
}

/*
 * Without append_list, a playlist already at the output is replaced from
 * start_number on: players still watching it see the media sequence go back
 * (RFC 8216 6.2.1 forbids it), so it is said, naming the option that
 * continues it instead.
 */
av_cold void ff_hlsbridge_warn_going_back(HLSBridgeVariant *v)
{
    HLSBridgeContext *c = v->s->priv_data;
    hlsbridge_resume_info info;
    char err[256];

    if (hlsbridge_playlist_read_info_from(c->origin.target, v->playlist_path, &info,
                                          err, sizeof(err)) < 0)
        return;
    if (info.next_media_sequence > (uint64_t)c->start_number && !info.ended)
        av_log(v->s, AV_LOG_WARNING, "Playlist '%s' exists and reaches media sequence "
               "%"PRIu64"; this stream replaces it from %"PRId64", so players still "
               "watching it see the sequence go back: -hls_flags append_list "
               "continues it instead\n", v->playlist_path, info.next_media_sequence,
               c->start_number);
    hlsbridge_resume_info_free(&info);
}

/* A playlist of ours at path that has EXT-X-ENDLIST. */
av_cold int ff_hlsbridge_has_ended(AVFormatContext *s, const char *path)
{
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_resume_info info;
    char err[256];
    int ended;

    if (hlsbridge_playlist_read_info_from(c->origin.target, path, &info, err, sizeof(err)) < 0)
        return 0;
    ended = info.ended;
    hlsbridge_resume_info_free(&info);
    return ended;
}

/*
 * The number in a segment name made from tmpl (ff_hlsbridge_number_segment_name()): the
 * digits where the template has its %d; -1 when name does not match it.
 * Only the file names are compared (a URI's directory is the playlist's
 * view of the same place), the URI's percent-encoding undone.
 */
static int64_t number_of_name(const char *tmpl, const char *uri)
{
    char *name = ff_urldecode(av_basename(uri), 0);
    const char *t = av_basename(tmpl), *n = name;
    int64_t number = -1;

    while (n && *t) {
        if (t[0] == '%' && t[1] == '%') {
            if (*n++ != '%')
                break;
            t += 2;
        } else if (*t == '%') {
            t = strchr(t, 'd') + 1;
            if (!av_isdigit(*n))
                break;
            for (number = 0; av_isdigit(*n) && number < INT64_MAX / 10 - 9; n++)
                number = number * 10 + (*n - '0');
        } else if (*t++ != *n++) {
            break;
        }
    }
    if (!n || *t || *n)
        number = -1;
    av_free(name);
    return number;
}

/*
 * Segment files at numbers from n on that no playlist lists: what the killed
 * run was writing (or had closed but not listed yet). With delete_segments
 * the core removes them, else they are left and said. Returns the first
 * number past them.
 */
static av_cold int64_t clear_orphans(HLSBridgeVariant *v, int64_t n)
{
    HLSBridgeContext *c = v->s->priv_data;

    /* Up to every segment the muxer and the core held when it stopped. */
    for (int k = 0; k < 2 * HLSBRIDGE_MAX_DONE + 4; k++, n++) {
        char *name = ff_hlsbridge_number_segment_name(v->segment_filename, n);
        const char *path = name ? ff_hlsbridge_local_path(name) : NULL;
        if (!path || avio_check(name, AVIO_FLAG_READ) < 0) {
            av_free(name);
            return n;
        }
        if (c->flags & HLSBRIDGE_FLAG_DELETE_SEGMENTS) {
            av_log(v->s, AV_LOG_INFO, "append_list: removing '%s', which the "
                   "playlist does not list\n", path);
            hlsbridge_playlist_discard_segment(v->pl, path);
        } else {
            av_log(v->s, AV_LOG_WARNING, "append_list: '%s' is not listed by the "
                   "playlist (a segment not finished when the last run stopped); "
                   "left in place, never listed\n", path);
        }
        av_free(name);
    }
    return n;
}

/* fMP4: init files are numbered past every existing one (within a run of
 * missing names, one deleted with its segments), so that none that the
 * old playlist names is ever rewritten. */
static av_cold int free_init_name(HLSBridgeVariant *v, const char *map_uri)
{
    HLSBridgeContext *c = v->s->priv_data;

    /* On an origin, where each look is a request: past the init file in
     * force (the newest listed), and past those a killed run put after it. */
    if (c->origin.target) {
        char *in_force = map_uri ? ff_urldecode(av_basename(map_uri), 0) : NULL;
        for (int64_t n = 0; in_force && n < 4096; n++) {
            char *name = ff_hlsbridge_init_file_name(v->init_template, n);
            if (!name)
                break;
            if (!strcmp(av_basename(name), in_force))
                v->init.base = n + 1;
            av_free(name);
        }
        av_free(in_force);
        for (int k = 0; k < 64; k++, v->init.base++) {
            char *name = ff_hlsbridge_init_file_name(v->init_template, v->init.base);
            int exists = name && ff_hlsbridge_object_exists(v->s, name);
            av_free(name);
            if (!exists)
                break;
        }
        v->init.count = v->init.base;
        return 0;
    }
    for (int64_t n = 0; n <= v->init.base + 64; n++) {
        char *name = ff_hlsbridge_init_file_name(v->init_template, n);
        if (!name)
            return AVERROR(ENOMEM);
        if (ff_hlsbridge_object_exists(v->s, name))
            v->init.base = n + 1;
        av_free(name);
    }
    v->init.count = v->init.base;
    return 0;
}

/* What v's playlist continues: nothing (a new stream), or where it stands. */
static av_cold int resumed_variant(HLSBridgeVariant *v, hlsbridge_resume_info *info)
{
    int ret = hlsbridge_playlist_get_resume_info(v->pl, info);

    if (ret < 0)
        return ret;
    if (info->resumed)
        av_log(v->s, AV_LOG_INFO, "append_list: continuing '%s' at media sequence "
               "%"PRIu64" (%zu segments listed%s)\n", v->playlist_path,
               info->next_media_sequence, info->segments,
               info->ended ? ", EXT-X-ENDLIST removed" : "");
    return 0;
}

/*
 * What v continues with: its segment files numbered after the last listed
 * one and any file left past it (*next grows to that), its fMP4 init files
 * after the existing ones; the same container as before; no key of the
 * old run for segments in the clear.
 */
static av_cold int continue_variant(HLSBridgeVariant *v, const hlsbridge_resume_info *info,
                                    int64_t *next)
{
    HLSBridgeContext *c = v->s->priv_data;
    int64_t last = -1;
    hlsbridge_key none = { 0 };
    int ret;
    int old_fmp4 = info->map_uri != NULL, new_fmp4 = v->init_template != NULL;

    if (info->segments && old_fmp4 != new_fmp4) {
        av_log(v->s, AV_LOG_ERROR, "append_list: '%s' lists %s segments, this stream "
               "writes %s ones; continue it with the same hls_segment_type\n",
               v->playlist_path, info->map_uri ? "fmp4" : "mpegts",
               v->init_template ? "fmp4" : "mpegts");
        return AVERROR(EINVAL);
    }
    if (!c->strftime && info->last_uri &&
        (last = number_of_name(v->segment_filename, info->last_uri)) < 0) {
        av_log(v->s, AV_LOG_ERROR, "append_list: the last segment of '%s', '%s', is not "
               "named by hls_segment_filename '%s'; continue it with the same names\n",
               v->playlist_path, info->last_uri, v->segment_filename);
        return AVERROR(EINVAL);
    }
    if (!c->strftime)
        *next = FFMAX(*next, clear_orphans(v, last >= 0 ? last + 1 : *next));
    /* Segments in the clear after encrypted ones: EXT-X-KEY:METHOD=NONE. */
    if (info->key_in_force && !c->enc_opts.info_file && !c->enc_opts.enabled &&
        (ret = hlsbridge_playlist_submit_key(v->pl, &none)) < 0)
        return ret;
    return v->init_template ? free_init_name(v, info->map_uri) : 0;
}

/*
 * append_list: every variant continues its playlist, all from the same
 * media sequence (a variant without a playlist, or at another point, fails
 * here), with a discontinuity at the junction. Segment files are numbered
 * after the last listed one and any file left beyond it, in every variant
 * alike; fMP4 init files after the existing ones.
 */
av_cold int ff_hlsbridge_resume_ladder(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_resume_info first = { 0 };
    int64_t next = c->start_number;
    int ret = 0;

    for (int i = 0; i < c->nb_variants && ret >= 0; i++) {
        HLSBridgeVariant *v = c->variants[i];
        hlsbridge_resume_info info;
        if ((ret = resumed_variant(v, &info)) < 0)
            break;
        if (!i)
            first = info;
        if (info.resumed != first.resumed ||
            info.next_media_sequence != first.next_media_sequence) {
            av_log(s, AV_LOG_ERROR, "append_list: the playlist of variant '%s' %s, "
                   "that of variant '%s' %s; the variants cannot continue together\n",
                   v->name, info.resumed ? "exists" : "does not exist",
                   c->variants[0]->name, first.resumed ? "exists" : "does not exist");
            if (info.resumed && first.resumed)
                av_log(s, AV_LOG_ERROR, "append_list: they end at media sequence "
                       "%"PRIu64" and %"PRIu64"\n", info.next_media_sequence,
                       first.next_media_sequence);
            ret = AVERROR(EINVAL);
        } else if (info.resumed) {
            v->discont_pending = 1;
            v->pdt_floor_ms    = info.pdt_end_ms;
            ret = continue_variant(v, &info, &next);
        }
        if (i)
            hlsbridge_resume_info_free(&info);
    }
    hlsbridge_resume_info_free(&first);
    c->start_number = next;
    return ret;
}

/*
 * master_pl_name: the multivariant playlist's file, in the directory of the
 * output name above its first component with %v ("out/%v/index.m3u8" and
 * "out/index_%v.m3u8" both give "out/<master_pl_name>").
 */
av_cold int ff_hlsbridge_name_master(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    const char *url     = ff_hlsbridge_local_path(s->url);
    const char *var     = strstr(url, "%v");
    const char *end     = var ? var : url + strlen(url);

    while (end > url && end[-1] != '/')
        end--;
    if (!*c->master_pl_name || strchr(c->master_pl_name, '/')) {
        av_log(s, AV_LOG_ERROR, "master_pl_name '%s': give a file name; it is "
               "written beside the variants' playlists\n", c->master_pl_name);
        return AVERROR(EINVAL);
    }
    c->master_path = av_asprintf("%.*s%s", (int)(end - url), url, c->master_pl_name);
    return c->master_path ? 0 : AVERROR(ENOMEM);
}

av_cold int ff_hlsbridge_open_master(AVFormatContext *s)
{
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_multivariant_options opts;

    if (!c->master_pl_name)
        return 0;
    hlsbridge_multivariant_options_init(&opts);
    opts.path                 = c->master_path;
    opts.independent_segments = c->segment_type == HLSBRIDGE_SEGMENT_FMP4 ||
                                (c->flags & HLSBRIDGE_FLAG_INDEPENDENT_SEGMENTS);
    opts.log_callback         = ff_hlsbridge_core_log;
    opts.log_opaque           = s;
    opts.target               = c->origin.target;
    return hlsbridge_multivariant_open(&opts, &c->mv);
}

/* The core's name of a codec, for its RFC 6381 string. */
static hlsbridge_codec_id core_codec_id(enum AVCodecID id)
{
    switch (id) {
    case AV_CODEC_ID_H264: return HLSBRIDGE_CODEC_H264;
    case AV_CODEC_ID_HEVC: return HLSBRIDGE_CODEC_HEVC;
    case AV_CODEC_ID_AV1:  return HLSBRIDGE_CODEC_AV1;
    case AV_CODEC_ID_AAC:  return HLSBRIDGE_CODEC_AAC;
    case AV_CODEC_ID_OPUS: return HLSBRIDGE_CODEC_OPUS;
    case AV_CODEC_ID_MP3:  return HLSBRIDGE_CODEC_MP3;
    case AV_CODEC_ID_AC3:  return HLSBRIDGE_CODEC_AC3;
    case AV_CODEC_ID_EAC3: return HLSBRIDGE_CODEC_EAC3;
    default:               return HLSBRIDGE_CODEC_OTHER;
    }
}

/* Appends the RFC 6381 string of a stream to bp (comma-separated); a
 * negative errno, with the reason in bp, when there is none. AV1 extradata
 * that is a sequence header OBU is turned into the av1C record first. */
static int append_codec_string(AVBPrint *bp, const AVCodecParameters *par)
{
    const uint8_t *data = par->extradata;
    int size            = par->extradata_size;
    uint8_t *av1c       = NULL;
    AVIOContext *pb;
    char name[128];
    int ret;

    if (par->codec_id == AV_CODEC_ID_AV1 && size > 0 && data[0] != 0x81 &&
        avio_open_dyn_buf(&pb) >= 0) {
        ff_isom_write_av1c(pb, data, size, 1);
        size = avio_close_dyn_buf(pb, &av1c);
        data = av1c;
    }
    ret = hlsbridge_codec_string(core_codec_id(par->codec_id), data, size,
                                 par->codec_id == AV_CODEC_ID_AAC &&
                                 par->profile != AV_PROFILE_UNKNOWN ?
                                 par->profile + 1 : 0, name, sizeof(name));
    av_free(av1c);
    if (ret < 0) {
        av_bprint_clear(bp);
        av_bprintf(bp, "%s", name);
        return ret;
    }
    av_bprintf(bp, "%s%s", bp->len ? "," : "", name);
    return 0;
}

/*
 * v as an entry of the multivariant playlist: its codecs, the bit rate its
 * streams declare, its picture size and rate, its audio group.
 */
static int add_rendition(HLSBridgeVariant *v, int group_default)
{
    AVFormatContext *s  = v->s;
    HLSBridgeContext *c = s->priv_data;
    hlsbridge_rendition r = { 0 };
    char name[64];
    AVBPrint codecs;
    int ret = 0;

    av_bprint_init(&codecs, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (int i = 0; i < v->nb_streams && ret >= 0; i++) {
        const AVStream *st = s->streams[v->streams[i]];
        const AVCodecParameters *par = st->codecpar;
        ret = append_codec_string(&codecs, par);
        r.declared_bandwidth += FFMAX(par->bit_rate, 0);
        if (par->codec_type == AVMEDIA_TYPE_VIDEO && !r.width) {
            r.width  = par->width;
            r.height = par->height;
            if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
                r.frame_rate = av_q2d(st->avg_frame_rate);
        }
    }
    if (ret < 0)
        av_log(s, AV_LOG_WARNING, "Variant '%s': no CODECS in the multivariant "
               "playlist: %s\n", v->name, codecs.str);
    r.playlist = v->pl;
    r.codecs   = ret < 0 ? NULL : codecs.str;
    if (v->kind == HLSBRIDGE_VARIANT_AUDIO) {
        snprintf(name, sizeof(name), "audio_%d", v->index);
        r.kind       = HLSBRIDGE_RENDITION_AUDIO;
        r.group_id   = v->agroup;
        r.name       = strcmp(v->name, name + 6) ? v->name : name;
        r.language   = v->language;
        r.is_default = v->is_default || group_default;
        r.autoselect = 1;
    } else {
        r.audio_group = v->agroup;
    }
    ret = hlsbridge_multivariant_add(c->mv, &r);
    if (ret < 0)
        av_log(s, AV_LOG_ERROR, "Multivariant playlist: %s\n",
               hlsbridge_multivariant_error(c->mv));
    av_bprint_finalize(&codecs, NULL);
    return ret;
}

/* Whether v is the first audio rendition of its group and none of the
 * group says default:yes: then it is the group's default. */
static int group_default(const HLSBridgeContext *c, const HLSBridgeVariant *v)
{
    if (v->kind != HLSBRIDGE_VARIANT_AUDIO)
        return 0;
    for (int i = 0; i < c->nb_variants; i++) {
        const HLSBridgeVariant *o = c->variants[i];
        if (o->kind == HLSBRIDGE_VARIANT_AUDIO && !strcmp(o->agroup, v->agroup) &&
            (o->is_default || o->index < v->index))
            return 0;
    }
    return v->kind == HLSBRIDGE_VARIANT_AUDIO;
}

/* Every variant's playlist has been written once. */
static int every_playlist_written(const HLSBridgeContext *c)
{
    hlsbridge_playlist_stats st;

    for (int i = 0; i < c->nb_variants; i++)
        if (hlsbridge_playlist_get_stats(c->variants[i]->pl, &st) < 0 || !st.writes_ok)
            return 0;
    return 1;
}

/*
 * The multivariant playlist (master_pl_name): its entries are added once
 * every variant's playlist exists (so its codec parameters are known), and the
 * core writes it when mode says (see hlsbridge_multivariant_update()). A
 * failed write is logged; the next update tries again.
 */
void ff_hlsbridge_update_multivariant(AVFormatContext *s, hlsbridge_multivariant_mode mode)
{
    HLSBridgeContext *c = s->priv_data;
    int ret = 0;

    if (!c->mv || (!c->mv_added && !every_playlist_written(c)))
        return;
    for (int i = 0; !c->mv_added && i < c->nb_variants && ret >= 0; i++)
        ret = add_rendition(c->variants[i], group_default(c, c->variants[i]));
    if (ret < 0) {
        c->err = ret;
        return;
    }
    c->mv_added = 1;
    ret = hlsbridge_multivariant_update(c->mv, mode);
    if (ret < 0) {
        av_log(s, AV_LOG_ERROR, "Multivariant playlist: %s\n",
               hlsbridge_multivariant_error(c->mv));
    } else if (ret > 0) {
        av_log(s, AV_LOG_VERBOSE, "Multivariant playlist '%s' written\n",
               c->master_path);
        c->mv_ready = 1;
    }
}
