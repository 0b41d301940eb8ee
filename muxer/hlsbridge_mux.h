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
 * What the two source files of the hlsbridge muxer share: its state (the
 * context, one struct per variant of the ladder and the structs each of
 * those is made of) and the functions one calls in the other.
 * hlsbridge.c routes packets through each variant's segment muxer and
 * publishes segments; hlsbridge_ladder.c builds the ladder from
 * var_stream_map, feeds the multivariant playlist and continues existing
 * playlists (append_list).
 */

#ifndef AVFORMAT_HLSBRIDGE_MUX_H
#define AVFORMAT_HLSBRIDGE_MUX_H

#include <stddef.h>
#include <stdint.h>

#include <hlsbridge/hlsbridge.h>

#include "libavutil/rational.h"
#include "libavutil/thread.h"

#include "avformat.h"
#include "avio.h"

#define HLSBRIDGE_FLAG_DELETE_SEGMENTS   (1 << 0)
#define HLSBRIDGE_FLAG_PROGRAM_DATE_TIME (1 << 1)
#define HLSBRIDGE_FLAG_DISCONT_START     (1 << 2)
/* hls_flags of FFmpeg's hls muxer that are accepted (temp_file: every
 * playlist is written to a temp file, fsynced and renamed anyway) or refused
 * by name (see unsupported_flags[]). */
#define HLSBRIDGE_FLAG_TEMP_FILE         (1 << 3)
#define HLSBRIDGE_FLAG_SINGLE_FILE       (1 << 4)
#define HLSBRIDGE_FLAG_ROUND_DURATIONS   (1 << 5)
#define HLSBRIDGE_FLAG_OMIT_ENDLIST      (1 << 6)
#define HLSBRIDGE_FLAG_SPLIT_BY_TIME     (1 << 7)
#define HLSBRIDGE_FLAG_APPEND_LIST       (1 << 8)
#define HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_INDEX    (1 << 9)
#define HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_DURATION (1 << 10)
#define HLSBRIDGE_FLAG_SECOND_LEVEL_SEGMENT_SIZE     (1 << 11)
#define HLSBRIDGE_FLAG_PERIODIC_REKEY    (1 << 12)
#define HLSBRIDGE_FLAG_INDEPENDENT_SEGMENTS (1 << 13)
#define HLSBRIDGE_FLAG_IFRAMES_ONLY      (1 << 14)

/* A reference-stream timestamp that moves forward by more than this many
 * target durations is a discontinuity, not a gap to be played through. */
#define HLSBRIDGE_JUMP_TARGET_DURATIONS 3

/* How early a key frame may come and still make a cut (segment.c's
 * segment_time_delta; see open_segmenter()), microseconds and as an option. */
#define HLSBRIDGE_CUT_TOLERANCE     1000
#define HLSBRIDGE_CUT_TOLERANCE_STR "1000us"

enum HLSBridgeSegmentType {
    HLSBRIDGE_SEGMENT_MPEGTS,
    HLSBRIDGE_SEGMENT_FMP4,
};

/* Fragmented MP4 for HLS (RFC 8216 3.3): the init section (ftyp + moov)
 * goes to its own file at the segment muxer's header, each segment is one
 * moof + mdat flushed at its cut, and no mfra trailer ends the last one.
 * cmaf gives a tfdt in every fragment, offsets from the moof and negative
 * composition offsets instead of an edit list. */
#define HLSBRIDGE_FMP4_MOVFLAGS "+cmaf+frag_custom+skip_trailer+frag_discont"

/* hls_start_number_source: FFmpeg's hls muxer's values. */
enum HLSBridgeStartNumberSource {
    HLSBRIDGE_START_GENERIC  = 0,
    HLSBRIDGE_START_EPOCH    = 1,
    HLSBRIDGE_START_DATETIME = 2,
    HLSBRIDGE_START_EPOCH_US = 3,
};

enum HLSBridgePlaylistType {
    HLSBRIDGE_TYPE_LIVE,
    HLSBRIDGE_TYPE_EVENT,
    HLSBRIDGE_TYPE_VOD,
};

/* Where packets go; what happens at the next reference key packet. */
enum HLSBridgeState {
    /* A segment muxer takes every packet; it cuts on its own schedule. */
    HLSBRIDGE_WRITING,
    /* After a timestamp jump: the next reference key packet ends the running
     * segment muxer (if any) and starts one whose schedule begins there;
     * until then packets go to the running one, or are dropped. */
    HLSBRIDGE_RESTARTING,
    /* No segment muxer after a segment could not be written: media is
     * dropped until a reference key packet one target duration after the
     * failed segment's start, where it would have been cut. */
    HLSBRIDGE_DROPPING,
    /* fMP4, before the first segment muxer: a stream lacks the codec
     * parameters (extradata) that the init section must hold, e.g. AAC
     * copied from MPEG-TS, whose AudioSpecificConfig comes with the first
     * packet. Media is dropped until a reference key packet finds them all,
     * or one target duration has passed. */
    HLSBRIDGE_STARTING,
    /* The segment muxer is being freed: its files are closed, nothing is
     * published. */
    HLSBRIDGE_CLOSING,
};

/* The packet being forwarded to the segment muxer, as far as a segment that
 * it ends needs to know. */
typedef struct HLSBridgePacket {
    int in_flight;                   ///< being forwarded: a segment closed now
                                     ///< was ended by this packet
    int is_ref;                      ///< a reference-stream packet with a pts
    int jump;                        ///< its timestamp jumped
    int64_t pts;                     ///< its pts, ref_tb
} HLSBridgePacket;

/* The segment being written (or whose media is dropped), as segment.c's
 * SegmentListEntry. Its media may be several continuous runs when a
 * timestamp jump falls inside it. */
typedef struct HLSBridgeSegment {
    AVIOContext *pb;                 ///< its file, NULL when none is open
    char *url;                       ///< its URL as given to io_open
    int discont;                     ///< it starts after a discontinuity
    int has_ref;                     ///< it holds a reference packet
    int64_t acc;                     ///< duration of its earlier runs, ref_tb
    int64_t run_start;               ///< pts opening its current run
    int64_t run_end;                 ///< max(pts + duration) in that run
} HLSBridgeSegment;

/* The init section (fMP4) of the running segment muxer, written by it at its
 * header into a file of its own, named afresh at each start so that no file
 * that a published playlist names is ever rewritten. */
typedef struct HLSBridgeInit {
    AVIOContext *pb;                 ///< its file while it is being written
    char *url;                       ///< its URL as given to the segment muxer
    int failed;                      ///< it could not be written whole
    int64_t count;                   ///< init files named so far
    int64_t base;                    ///< the first count (append_list: past the old files)
} HLSBridgeInit;

/* AES-128 (hls_key_info_file or hls_enc): the key that encrypts the next
 * segment, and what the playlist says of it. Nothing of it is ever logged. */
typedef struct HLSBridgeEncryption {
    char *info_file;                 ///< hls_key_info_file
    int enabled;                     ///< hls_enc
    char *key_hex, *key_url, *iv_hex; ///< hls_enc_key, hls_enc_key_url, hls_enc_iv
    int on;                          ///< segments are encrypted
    uint8_t key[16];
    uint8_t iv[16];                  ///< the IV given, else that of the key period
    int has_iv;                      ///< the IV was given
    char *uri;                       ///< key URI
    char *key_file;                  ///< the key file
    int dirty;                       ///< the core has not been given this key yet
    uint64_t keys_lost;              ///< keys the core lost, as last seen
} HLSBridgeEncryption;

/* What a variant is in the multivariant playlist. */
enum HLSBridgeVariantKind {
    HLSBRIDGE_VARIANT_STREAM,        ///< EXT-X-STREAM-INF
    HLSBRIDGE_VARIANT_AUDIO,         ///< EXT-X-MEDIA of an audio group (agroup)
};

/* What a variant hands over to its playlist core, in order: a closed
 * segment waits there for the same segment of every other variant (see
 * commit_segments()), and the init sections and keys of the segments after
 * it wait behind it. */
enum HLSBridgeDoneKind {
    HLSBRIDGE_DONE_SEGMENT,
    HLSBRIDGE_DONE_MAP,              ///< url: an init section (publish_init())
    HLSBRIDGE_DONE_KEY,              ///< url: a key URI, with key_file and iv
    HLSBRIDGE_DONE_DISCARD,          ///< url: a file never to be listed
};

typedef struct HLSBridgeDone {
    enum HLSBridgeDoneKind kind;
    int64_t number;                  ///< the segment's number
    char *url;                       ///< its file
    double duration;                 ///< seconds
    int64_t pdt_ms;                  ///< program date-time, HLSBRIDGE_NO_PDT if none
    int discont;                     ///< it starts after a discontinuity
    int lost;                        ///< it was not written whole: never listed
    uint64_t size;                   ///< bytes written
    char *key_file;                  ///< HLSBRIDGE_DONE_KEY
    uint8_t iv[16];
} HLSBridgeDone;

#define HLSBRIDGE_MAX_DONE 16

/*
 * One variant of the ladder (one playlist, one nested segment muxer over
 * its streams); a run without var_stream_map is a ladder of one. Its
 * streams are renumbered from 0 inside its segment muxer.
 */
typedef struct HLSBridgeVariant {
    AVFormatContext *s;              ///< the hlsbridge muxer
    int index;                       ///< position in var_stream_map
    char *name;                      ///< what %v becomes: name:, else the index
    enum HLSBridgeVariantKind kind;
    char *agroup, *language;         ///< var_stream_map attributes
    int is_default;
    int *streams;                    ///< its streams' indices in s
    int nb_streams;
    char *playlist_path;             ///< its playlist, without "file:"
    char *segment_filename;          ///< its segment file name template

    AVFormatContext *seg;            ///< nested segment muxer; NULL while media
                                     ///< is dropped after a failed segment
    hlsbridge_playlist *pl;          ///< playlist core
    int ref_stream;                  ///< index (in s) of the stream that times segments
    AVRational ref_tb;               ///< time base of the reference stream
    int64_t jump_threshold;          ///< forward jump that is a discontinuity, ref_tb
    int64_t back_threshold;          ///< backward jump that is a discontinuity, ref_tb
    int probing;                     ///< the segment muxer writes to memory (probe_segmenter())
    uint64_t maps_lost;              ///< init sections the core lost, as last seen
    enum HLSBridgeState state;       ///< where packets go

    HLSBridgePacket pkt;             ///< the packet being forwarded
    HLSBridgeSegment cur;            ///< the segment being written or dropped
    int64_t cur_number;              ///< its number
    HLSBridgeInit init;              ///< fMP4: the running muxer's init section
    HLSBridgeEncryption enc;         ///< AES-128
    char *init_template;             ///< fMP4: path of the first init file

    /* Reference stream history. */
    int have_ref;                    ///< a reference packet was seen
    int64_t last_dts;                ///< dts of the last reference packet
    int64_t last_dur;                ///< last known reference packet duration
    int64_t ref_end;                 ///< max(pts + duration) since the last jump
    int64_t frame_dur;               ///< nominal frame duration of a video reference, 0 if unknown
    int discont_pending;             ///< the next segment starts a discontinuity
    int64_t dropped_before_key;      ///< packets before the first reference key packet

    /* Media clock and program date-time. */
    int64_t media_start;             ///< media time at the open segment's start, ref_tb
    int64_t pdt_anchor_ms;           ///< wall clock at the anchor, Unix ms
    int64_t pdt_anchor_media;        ///< media time at the anchor, ref_tb
    int64_t pdt_floor_ms;            ///< append_list: where the old date-times end
    int64_t segments_opened;         ///< segment numbers used so far (opened or lost)
    int64_t start_opened;            ///< segments_opened when the segment muxer was made
    /* hls_init_time: after the first list_size segments, the segment muxer
     * starts again with hls_time at the first reference key packet at or
     * after switch_pts (ref_tb); AV_NOPTS_VALUE when not due. */
    int init_phase;                  ///< segments are cut at init_time
    int64_t switch_pts;

    /* Closed segments waiting for the other variants (commit_segments()). */
    HLSBridgeDone done[HLSBRIDGE_MAX_DONE];
    int nb_done;
} HLSBridgeVariant;

typedef struct HLSBridgeContext {
    const AVClass *class;
    int64_t hls_time;                ///< target segment duration, microseconds
    int64_t init_time;               ///< duration of the first list_size segments, 0: hls_time
    int list_size;                   ///< live window in segments, 0 keeps all
    int playlist_type;               ///< HLSBRIDGE_TYPE_*
    char *segment_filename;          ///< segment file name template
    char *base_url;                  ///< prefix of every segment URI
    int flags;                       ///< HLSBRIDGE_FLAG_*
    int segment_fsync;               ///< segment files durable before they are listed
    int64_t start_number;            ///< number of the first segment and media sequence
    char *segment_format;            ///< container of the segment files
    AVDictionary *segment_format_options; ///< options of the segment container
    AVDictionary *segment_options;   ///< options of the nested segment muxer
    int segment_type;                ///< HLSBRIDGE_SEGMENT_*
    int strftime;                    ///< segment names from the local time
    int strftime_mkdir;              ///< ... in directories made as they come
    int delete_threshold;            ///< removed files kept past their hold (hls_delete_threshold)
    AVDictionary *hls_segment_options; ///< more segment_format_options, by the hls muxer's name
    int start_number_source;         ///< HLSBRIDGE_START_*
    char *init_filename;             ///< fMP4 init file name (hls_fmp4_init_filename)
    char *var_stream_map;            ///< the ladder (FFmpeg's syntax)
    char *master_pl_name;            ///< multivariant playlist, beside the variants'
    int master_pl_publish_rate;      ///< rewrite it every this many segments, 0: when needed
    int append_ended;                ///< append_list continues a playlist that has ENDLIST
    HLSBridgeEncryption enc_opts;    ///< AES-128 options, copied to each variant

    /* Options of FFmpeg's hls muxer that this muxer does not implement yet:
     * declared with the same names and types, so that a command switched
     * from -f hls is refused by name instead of having them ignored (see
     * unsupported_options[]). */
    struct {
        int64_t timeout;
        int allow_cache, segment_size;
        int fmp4_init_resend;
        int http_persistent, ignore_io_errors;
        char *vtt_options;
        char *subtitle_path, *method, *http_user_agent;
        char *cc_stream_map, *headers;
    } hls;

    /* Publication to an HTTP origin (hlsbridge_origin.c); target is NULL
     * for a local output. */
    struct {
        char *spool_parent;          ///< http_spool_dir
        int64_t retry_time;          ///< http_retry_time
        int queue_size;              ///< http_queue_size
        const char *method;          ///< the hls method option, PUT by default
        int persistent;              ///< http_persistent
        int64_t timeout;             ///< of each request's socket I/O
        char *url;                   ///< the output URL while s->url is its spool path
        char *base;                  ///< "http://host:port" of the output URL
        char *spool;                 ///< the local mirror of its paths
        hlsbridge_target *target;
        AVMutex lock;                ///< guards idle
        int lock_inited;
        struct URLContext *idle[8];  ///< connections kept for the next request
        int nb_idle;
    } origin;

    HLSBridgeVariant **variants;     ///< the ladder, in var_stream_map order
    int nb_variants;
    HLSBridgeVariant **variant_of;   ///< per stream of s: its variant
    int *inner_index;                ///< per stream of s: its index in that variant
    int leader;                      ///< variant whose start opens the others'
    int64_t ladder_start;            ///< leader's first key packet, AV_TIME_BASE; NOPTS before
    hlsbridge_multivariant *mv;      ///< multivariant playlist, or NULL
    char *master_path;               ///< its file
    int mv_added;                    ///< its renditions were added
    int mv_ready;                    ///< it was written once
    int64_t commits;                 ///< segment numbers committed so far
    int err;                         ///< sticky error, returned by the next call
} HLSBridgeContext;

/* How commit_segments() treats a variant that has not reached segment n. */
enum HLSBridgeCommit {
    HLSBRIDGE_COMMIT_WAIT,           ///< wait for it
    HLSBRIDGE_COMMIT_WITHOUT,        ///< the others list theirs (queue full)
    HLSBRIDGE_COMMIT_FINAL,          ///< the stream ended: n is listed nowhere
};

/* hlsbridge.c */
void ff_hlsbridge_core_log(void *opaque, hlsbridge_log_level level, const char *msg);
/* Path on the local file system for a URL of the file protocol, else NULL. */
const char *ff_hlsbridge_local_path(const char *url);
/* A segment file name: the template's one %d (or %0Nd) replaced by n. */
char *ff_hlsbridge_number_segment_name(const char *tmpl, int64_t n);
/* The n-th init file name of a variant (init.mp4, init_1.mp4...). */
char *ff_hlsbridge_init_file_name(const char *tmpl, int64_t n);
/* Logs that option `name` needs `needs`; returns AVERROR(EINVAL). */
int ff_hlsbridge_refuse_alone(AVFormatContext *s, const char *name, const char *needs);

/* hlsbridge_ladder.c */
/* append_list with the options it cannot go with: refused by name. */
int ff_hlsbridge_check_append(AVFormatContext *s);
/* The variants of var_stream_map (or one of every stream), each stream in
 * exactly one; audio groups checked. */
int ff_hlsbridge_build_ladder(AVFormatContext *s);
/* Fails, naming `what`, when two variants have the same char * field at
 * `offset` (a file name both would write). */
int ff_hlsbridge_check_distinct(AVFormatContext *s, size_t offset, const char *what);
/* The index of the variant whose start opens the ladder. */
int ff_hlsbridge_choose_leader(const HLSBridgeContext *c);
/* Without append_list: a warning when v replaces a playlist going back. */
void ff_hlsbridge_warn_going_back(HLSBridgeVariant *v);
/* A playlist of ours at path that has EXT-X-ENDLIST. */
int ff_hlsbridge_has_ended(AVFormatContext *s, const char *path);
/* append_list: every variant continues its playlist, from the same point. */
int ff_hlsbridge_resume_ladder(AVFormatContext *s);
/* master_pl_name: the multivariant playlist's path, and its core handle. */
int ff_hlsbridge_name_master(AVFormatContext *s);
int ff_hlsbridge_open_master(AVFormatContext *s);
/* Adds the renditions (once every playlist exists) and lets the core write
 * the multivariant playlist when `mode` says. */
void ff_hlsbridge_update_multivariant(AVFormatContext *s, hlsbridge_multivariant_mode mode);

/* hlsbridge_origin.c */
/* An HTTP output: its spool, its target, s->url and the URL options
 * mapped into the spool; a local one: the HTTP-only options refused. */
int ff_hlsbridge_open_origin(AVFormatContext *s);
void ff_hlsbridge_close_origin(AVFormatContext *s);
/* s->url back to the output URL once the spool paths are derived from it. */
void ff_hlsbridge_show_url(AVFormatContext *s);
/* Whether a file (a spool path for an HTTP output) exists where players
 * fetch it: on the local file system, or on the origin (GET). */
int ff_hlsbridge_object_exists(AVFormatContext *s, const char *path);

#endif /* AVFORMAT_HLSBRIDGE_MUX_H */
