/*
 * hlsbridge: HLS media playlists (RFC 8216), rewritten atomically and durably.
 *
 * Conventions of this header:
 *  1. Plain C99. Every object is an opaque handle with a create/destroy pair
 *     (hlsbridge_playlist_open / hlsbridge_playlist_close).
 *  2. Functions returning int return 0 on success and a negative errno value on
 *     failure: -EINVAL for bad input, -ENOMEM when memory runs out, the
 *     operating system's errno (negated) for I/O. Nothing is thrown or aborted.
 *  3. After a failure, hlsbridge_playlist_error() returns a readable message
 *     that names the input or path and the cause, e.g.
 *     "out/index.m3u8: fsync: No space left on device".
 *  4. Strings passed in are copied; the caller keeps ownership. Strings
 *     returned are owned by the library (see each function for how long they
 *     stay valid).
 *  5. Units: durations in seconds (double); program date-times in
 *     milliseconds since the Unix epoch (int64_t).
 *  6. Threads: every function taking a playlist handle may be called from any
 *     number of threads at once, except hlsbridge_playlist_close(), which must
 *     be the last call on the handle. The log callback may be called from any
 *     of those threads, and from the handle's publisher thread (see
 *     hlsbridge_playlist_submit_segment).
 *
 * Two ways to list segments:
 *  - synchronous: hlsbridge_playlist_add_segment() then
 *    hlsbridge_playlist_write(), on the caller's thread;
 *  - asynchronous: hlsbridge_playlist_submit_segment() hands over a closed
 *    segment file. A thread of the handle makes the file durable, lists it
 *    and publishes the playlist, in submission order, while the caller goes
 *    on (an FFmpeg muxer's packet path never waits for a disk).
 */
#ifndef HLSBRIDGE_HLSBRIDGE_H
#define HLSBRIDGE_HLSBRIDGE_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define HLSBRIDGE_EXPORT
#elif defined(HLSBRIDGE_BUILDING) && defined(__GNUC__)
#define HLSBRIDGE_EXPORT __attribute__((visibility("default")))
#else
#define HLSBRIDGE_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define HLSBRIDGE_VERSION_MAJOR 1
#define HLSBRIDGE_VERSION_MINOR 4
#define HLSBRIDGE_VERSION_PATCH 0

/* hlsbridge_segment.program_date_time_ms value meaning "no date-time". */
#define HLSBRIDGE_NO_PDT INT64_MIN

/* Largest accepted segment duration, in seconds. */
#define HLSBRIDGE_MAX_SEGMENT_DURATION 1.0e6

typedef struct hlsbridge_playlist hlsbridge_playlist;

typedef enum {
    HLSBRIDGE_PLAYLIST_AUTO = 0, /* window_size > 0: LIVE, 0: VOD */
    HLSBRIDGE_PLAYLIST_LIVE,     /* sliding window, ENDLIST only at finish */
    HLSBRIDGE_PLAYLIST_EVENT,    /* keeps every segment, EXT-X-PLAYLIST-TYPE:EVENT */
    HLSBRIDGE_PLAYLIST_VOD       /* keeps every segment, ENDLIST on every write */
} hlsbridge_playlist_type;

typedef enum {
    HLSBRIDGE_LOG_ERROR = 0,
    HLSBRIDGE_LOG_WARNING = 1,
    HLSBRIDGE_LOG_INFO = 2,
    HLSBRIDGE_LOG_DEBUG = 3
} hlsbridge_log_level;

/*
 * Receives one line per event (one per write, warnings such as a target
 * duration that had to grow). `message` is valid only during the call. It is
 * called with no lock of the library held, so it may call the library; but
 * when it runs on the handle's publisher thread (see
 * hlsbridge_playlist_submit_segment) it must not call what waits for that
 * thread: submit_segment, discard_segment, flush, finish or close.
 */
typedef void (*hlsbridge_log_callback)(void *opaque, hlsbridge_log_level level,
                                       const char *message);

/*
 * A publication target (1.4.0): where playlists, segments, init sections and
 * keys go when they are not the local files themselves, e.g. an HTTP origin
 * (the FFmpeg muxer implements it with FFmpeg's http protocol). The core
 * keeps deciding what is published and in which order; the files are
 * written to a local spool first (the paths given to the core), and each
 * object is named to the callbacks by its spool path:
 *  - a segment is listed only after its put is done (its spool file then
 *    goes); init sections and keys are put before a playlist names them;
 *  - playlist puts are serialized and never put an older state over a
 *    newer one;
 *  - RETRY results are tried again with a wait that starts at 0.1 s and
 *    doubles up to 2 s, for at most retry_seconds from the first attempt;
 *    a segment not put by then is not listed (the next listed one carries
 *    EXT-X-DISCONTINUITY); a playlist not put stays pending and goes with
 *    the next write;
 *  - REFUSED results are not retried: the operation fails with -EREMOTEIO
 *    and a message naming the object and the cause;
 *  - deletions (delete_segments) are tried once at their time and, after a
 *    failure that may heal, again 1, 2, 4, 8, 16 s later; never waited for;
 *  - a playlist with a target never blocks its caller on a full queue: a
 *    segment submitted while max_queued_segments wait is dropped.
 */
typedef enum {
    HLSBRIDGE_TARGET_DONE = 0,
    HLSBRIDGE_TARGET_RETRY = 1,     /* may heal: 5xx, refused connection, timeout */
    HLSBRIDGE_TARGET_NOT_FOUND = 2, /* no such object (get, remove) */
    HLSBRIDGE_TARGET_REFUSED = 3    /* will not heal: 401, 403, 404 on a directory... */
} hlsbridge_target_result;

typedef struct {
    void *opaque;
    /* Stores size bytes as the whole object `name`, replacing any other
     * whole (a reader sees the old or the new object, never a mix). On a
     * failure, a readable cause goes to why[0..why_size-1]. Called from any
     * thread of the library, possibly at once. Required. */
    hlsbridge_target_result (*put)(void *opaque, const char *name, const uint8_t *data,
                                   size_t size, char *why, size_t why_size);
    /* Removes the object `name`. Required. */
    hlsbridge_target_result (*remove)(void *opaque, const char *name, char *why,
                                      size_t why_size);
    /* Reads the object `name`: on DONE, *data holds *size bytes allocated
     * with malloc() (the library frees them). Required. */
    hlsbridge_target_result (*get)(void *opaque, const char *name, uint8_t **data,
                                   size_t *size, char *why, size_t why_size);
    /* How long a RETRY is retried, seconds; <= 0: 30. */
    double retry_seconds;
    /* Nonzero when a DONE put survives a crash of the target. The local
     * spool is then never fsynced; with 0 the library says once, at open,
     * that publication is not durable. */
    int durable;
    hlsbridge_log_callback log_callback; /* retries and give-ups; NULL: none */
    void *log_opaque;
} hlsbridge_target_callbacks;

typedef struct hlsbridge_target hlsbridge_target;

/* Creates a target from its callbacks (copied). 0, or -EINVAL with
 * hlsbridge_last_open_error() saying which callback is missing. */
HLSBRIDGE_EXPORT int hlsbridge_target_open(const hlsbridge_target_callbacks *cb,
                                           hlsbridge_target **out);
/* After every playlist and multivariant playlist using it is closed. */
HLSBRIDGE_EXPORT void hlsbridge_target_close(hlsbridge_target *target);

/* A private spool directory for a target: a new directory
 * "<parent>/hlsbridge-XXXXXX" (parent NULL: $TMPDIR, else /tmp), mode 0700.
 * *dir is allocated with malloc(). 0, or a negative errno with
 * hlsbridge_last_open_error() naming the parent and the cause. */
HLSBRIDGE_EXPORT int hlsbridge_spool_create(const char *parent, char **dir);
/* Removes a spool directory made by hlsbridge_spool_create() and all that
 * is left in it. 0 or a negative errno. */
HLSBRIDGE_EXPORT int hlsbridge_spool_remove(const char *dir);

typedef struct {
    /* Playlist file to (re)write. Required. Its directory is created (0755)
     * when missing. */
    const char *path;
    /* Live window in segments; 0 keeps every segment. A live playlist never
     * shrinks below three target durations (RFC 8216 6.2.2), so a window
     * that is shorter in time keeps more segments. */
    unsigned window_size;
    hlsbridge_playlist_type type;
    /* Floor of EXT-X-TARGETDURATION in seconds (rounded up to an integer),
     * normally the configured segment duration, so the target duration does
     * not change mid-stream (RFC 8216 6.2.1). 0: no floor. */
    double target_duration;
    /* EXT-X-MEDIA-SEQUENCE of the first segment. Default 0. */
    uint64_t start_sequence;
    /* Prepended verbatim to every segment URI (e.g. "https://cdn/live/").
     * NULL or "": none. Only ASCII characters allowed in a URI path (RFC
     * 3986), no '?' or '#': percent-encode anything else yourself. */
    const char *base_url;
    /* Zone of EXT-X-PROGRAM-DATE-TIME, in minutes east of UTC. 0 prints "Z",
     * 60 prints "+01:00". Range -1439..1439. Default 0. */
    int pdt_utc_offset_minutes;
    /* Nonzero (default): fsync the temp file before the rename. */
    int fsync_file;
    /* Nonzero (default): fsync the directory after the rename, so the rename
     * itself survives a power failure. */
    int fsync_dir;
    /* Nonzero (default): hlsbridge_playlist_open() removes temp files that a
     * killed process left for this playlist in its directory: names of the
     * form ".playlist-<playlist file name>-XXXXXX.tmp". Temp files of other
     * playlists in the same directory are left alone. */
    int remove_stale_temp_files;
    /* Nonzero: a segment that left a live window and was added with a
     * file_path is deleted once RFC 8216 6.2.2 allows it (its duration plus
     * the longest published playlist that contained it, counted from the
     * first published playlist without it). Default 0. */
    int delete_segments;
    /* Optional log sink; NULL: no logging. */
    hlsbridge_log_callback log_callback;
    void *log_opaque;
    /* Nonzero (default): a segment handed over with
     * hlsbridge_playlist_submit_segment() is listed only once its file and
     * then its directory are fsynced. */
    int fsync_segments;
    /* Submitted segments (and discarded files) that may wait for the
     * publisher thread; one more submit blocks until one is done, so a
     * stalled disk holds the caller back instead of growing memory.
     * 0: the default, 16. */
    unsigned max_queued_segments;
    /* Nonzero: EXT-X-INDEPENDENT-SEGMENTS, a promise that every segment
     * starts with a key frame (RFC 8216 4.3.5.1). Default 0. (1.2.0) */
    int independent_segments;
    /* Nonzero: hlsbridge_playlist_finish() writes no EXT-X-ENDLIST, for a
     * live or event stream that another process will continue. Refused
     * for a VOD playlist, which always ends with it. Default 0. (1.2.0) */
    int omit_endlist;
    /* With delete_segments: how many of the most recently removed segment
     * files stay on disk even after their hold time (FFmpeg's
     * hls_delete_threshold). Default 0: only the hold of RFC 8216 6.2.2.
     * (1.2.0) */
    unsigned keep_removed_segments;
    /* Nonzero: when a playlist exists at path, open() reads it (it must be
     * one this library wrote: anything else, or a damaged file, fails with
     * a message naming the file, line and cause) and continues it: its
     * segments stay listed, the media and discontinuity sequences and the
     * target duration go on from it, and start_sequence is not used. A
     * segment duration that would need a larger target duration, a VOD
     * playlist, and another playlist type than the file's are refused.
     * See hlsbridge_playlist_get_resume_info(). Default 0. (1.3.0) */
    int resume;
    /* With resume: continue a playlist that has EXT-X-ENDLIST (the tag is
     * removed at the next write); without it such a playlist is refused.
     * Default 0. (1.3.0) */
    int resume_ended;
    /* Where the playlist and its files are published; NULL (default): the
     * local files themselves. With a target, path and the file paths are in
     * its spool, fsync_* do not apply, a resumed playlist is read with get,
     * and max_queued_segments bounds the segments waiting for their put
     * (one more is dropped, see hlsbridge_target_callbacks). (1.4.0) */
    hlsbridge_target *target;
} hlsbridge_playlist_options;

typedef struct {
    /* Segment URI, relative to the playlist (or absolute "scheme://..."
     * URL). Characters not allowed in a URI reference, and '%', '#', '?',
     * are percent-encoded when rendered. Control characters (CR, LF, ...)
     * are refused with -EINVAL. Non-empty. NULL when file_path is set: the
     * URI is then the file's path relative to the playlist's directory
     * (both resolved, symbolic links included), e.g. "../seg/index3.ts". */
    const char *uri;
    /* Seconds, finite, > 0 and <= HLSBRIDGE_MAX_SEGMENT_DURATION. */
    double duration;
    /* Milliseconds since the Unix epoch, years 0000..9999; HLSBRIDGE_NO_PDT
     * if absent. */
    int64_t program_date_time_ms;
    /* Nonzero: EXT-X-DISCONTINUITY before this segment. */
    int discontinuity;
    /* The segment's file on the local file system, or NULL. With
     * hlsbridge_playlist_submit_segment() it is fsynced (with its directory)
     * before it is listed, removed if the segment is lost, and gives the URI
     * when uri is NULL. With delete_segments on (see options) it is deleted
     * once it has left a live window. NULL: nothing is synced or deleted. */
    const char *file_path;
    /* Its size in bytes, for the measured bit rates (peak_bitrate and
     * average_bitrate of the stats, the BANDWIDTH of a multivariant
     * playlist); 0: unknown, not counted. (1.3.0) */
    uint64_t size;
} hlsbridge_segment;

typedef struct {
    uint64_t writes_ok;             /* successful writes */
    uint64_t writes_failed;         /* failed writes */
    int64_t last_write_latency_us;  /* latency of the last write, ok or not */
    int64_t last_success_unix_ms;   /* wall time of the last success; 0: none */
    uint64_t media_sequence;        /* EXT-X-MEDIA-SEQUENCE now */
    uint64_t discontinuity_sequence;/* EXT-X-DISCONTINUITY-SEQUENCE now */
    uint64_t target_duration;       /* EXT-X-TARGETDURATION now */
    unsigned segment_count;         /* segments in the window now */
    unsigned pending_deletions;     /* removed files not yet deleted */
    uint64_t files_deleted;         /* segment files deleted so far */
    int finished;                   /* nonzero after hlsbridge_playlist_finish */
    /* The publisher thread (hlsbridge_playlist_submit_segment): */
    unsigned segments_queued;       /* submitted, not yet listed or lost */
    uint64_t segments_lost;         /* refused or not durable: never listed */
    /* From submit to the first published playlist that lists the segment,
     * over the last 4096 listed segments (publish_latency_samples of them);
     * 0 when none yet. */
    int64_t publish_latency_p50_us;
    int64_t publish_latency_p99_us;
    int64_t publish_latency_max_us;
    uint64_t publish_latency_samples;
    /* Init sections (submit_map) refused or not made durable: the segments
     * after each are lost until the next map is submitted. (1.2.0) */
    uint64_t maps_lost;
    /* The same for keys (submit_key). (1.2.0) */
    uint64_t keys_lost;
    /* Over the listed segments that had a size: the largest and the
     * average segment bit rate, bits/s (0: none yet). (1.3.0) */
    uint64_t peak_bitrate;
    uint64_t average_bitrate;
} hlsbridge_playlist_stats;

/* AES-128 encryption of whole segments (RFC 8216 4.3.2.4): what the
 * EXT-X-KEY of the segments that follow says. (1.2.0) */
typedef struct {
    /* Key URI, printed as given inside the quotes of EXT-X-KEY: no '"', no
     * control character. NULL or "": METHOD=NONE, segments in the clear. */
    const char *uri;
    /* Printed as IV=0x...; the segments must be encrypted with it. */
    uint8_t iv[16];
    /* The key file on the local file system, made durable before a
     * playlist names the key (submit_key), never deleted; or NULL. */
    const char *file_path;
} hlsbridge_key;

/* FFmpeg's key info file, read by hlsbridge_key_info_read(). (1.2.0) */
typedef struct {
    char *uri;       /* line 1: the key URI */
    char *key_file;  /* line 2: the key file's path */
    uint8_t key[16]; /* that file's 16 bytes */
    int has_iv;      /* line 3 was given: */
    uint8_t iv[16];  /* the IV */
} hlsbridge_key_info;

/* Fills *opts with the defaults (all zero/NULL, fsync_file, fsync_dir,
 * fsync_segments and remove_stale_temp_files on). */
HLSBRIDGE_EXPORT void hlsbridge_playlist_options_init(hlsbridge_playlist_options *opts);

/*
 * Validates *opts, creates the playlist's directory when missing, removes our
 * stale temp files there (see remove_stale_temp_files), and returns a new
 * handle in *out. Writes no playlist. On failure *out is NULL and the error
 * message, if any, is logged through opts->log_callback; hlsbridge_last_open_error()
 * also returns it for the calling thread.
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_open(const hlsbridge_playlist_options *opts,
                                             hlsbridge_playlist **out);

/* Message of the last failed hlsbridge_playlist_open() on this thread, or "". */
HLSBRIDGE_EXPORT const char *hlsbridge_last_open_error(void);

/*
 * Appends a copy of *seg to the playlist. Does not write: call
 * hlsbridge_playlist_write(). In a live playlist the oldest segments leave the
 * window (media and discontinuity sequences advance). Returns -EINVAL, and
 * changes nothing, for an invalid segment or after finish.
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_add_segment(hlsbridge_playlist *pl,
                                                    const hlsbridge_segment *seg);

/*
 * Renders the current state and publishes it atomically: temp file in the
 * same directory, write, fsync, close, rename over the playlist, fsync of the
 * directory. On failure the previous playlist is left byte-identical, no temp
 * file remains, and the error names the path and the failing step (open,
 * write, fsync, close, rename, fsync dir). A newer state is never overwritten
 * by an older one when writes race. Also deletes expired segment files when
 * delete_segments is on (a failed deletion is logged, not returned).
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_write(hlsbridge_playlist *pl);

/*
 * Hands over a closed segment file (seg->file_path; NULL when the segment is
 * not a local file, e.g. written by an application's own I/O) and returns
 * without waiting for an fsync (deriving a NULL uri resolves the file's
 * directory, a metadata lookup). The handle's publisher thread (started at
 * the first call) then, in submission order: fsyncs the file, fsyncs its
 * directory (fsync_segments), adds the segment and publishes the playlist
 * as hlsbridge_playlist_write() does. When several segments wait, one
 * publication lists them all. Blocks only while max_queued_segments wait.
 *
 * The segment is checked now, as add_segment() checks it: -EINVAL for a
 * refused one, whose file is then removed (it will never be listed; the
 * library owns the file from this call on) and the next listed segment
 * carries EXT-X-DISCONTINUITY. A file that cannot be made durable is handled
 * the same way on the publisher thread; a failed playlist write keeps the
 * segment in the state and the next write publishes it. Both are logged
 * when they happen and returned by hlsbridge_playlist_take_error().
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_submit_segment(hlsbridge_playlist *pl,
                                                       const hlsbridge_segment *seg);

/* 1 when hlsbridge_playlist_submit_segment() would now drop its segment (a
 * playlist with a target whose max_queued_segments wait for their put), 0
 * otherwise, -EINVAL without a handle. Only the handle's publisher thread
 * changes it, from 1 to 0: a caller that alone submits may check every
 * rendition of a ladder first and drop a segment in all of them. (1.4.0) */
HLSBRIDGE_EXPORT int hlsbridge_playlist_queue_full(hlsbridge_playlist *pl);

/*
 * fMP4 (CMAF) segments: the media initialization section of the segments
 * added or submitted from now on, printed as EXT-X-MAP (and EXT-X-VERSION 6)
 * before the first of them. uri: as a segment's (NULL: derived from
 * file_path, which is then required); file_path: the init file on the local
 * file system, or NULL. With delete_segments on, the file of a map that a
 * newer one replaced is deleted once the last segment that needs it is.
 * -EINVAL for a refused URI or after finish.
 *
 * hlsbridge_playlist_set_map() is for add_segment(): it takes effect now.
 * hlsbridge_playlist_submit_map() is for submit_segment(): the publisher
 * thread makes the file durable (fsync_segments) before any playlist names
 * it, in submission order; when its bytes equal those of the map in force,
 * the new file is removed and that map stays (a segment muxer restarted
 * with the same codec parameters). A map that cannot be made durable is
 * removed, and the segments submitted after it are lost (not listed) until
 * the next map; that failure comes back from take_error(). A refused map is
 * removed the same way. (1.2.0)
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_set_map(hlsbridge_playlist *pl,
                                                const char *uri,
                                                const char *file_path);
HLSBRIDGE_EXPORT int hlsbridge_playlist_submit_map(hlsbridge_playlist *pl,
                                                   const char *uri,
                                                   const char *file_path);

/*
 * AES-128: the key of the segments added (set_key) or submitted
 * (submit_key) from now on, printed as EXT-X-KEY where it changes. A new
 * EXT-X-MAP while a key is in force gets EXT-X-KEY:METHOD=NONE before it:
 * init sections are not encrypted. submit_key makes the key file durable
 * before a playlist names the key, in submission order; a key that cannot
 * be (or a refused one) loses the segments submitted after it until the
 * next key, and comes back from take_error(). -EINVAL for a refused URI or
 * after finish. (1.2.0)
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_set_key(hlsbridge_playlist *pl,
                                                const hlsbridge_key *key);
HLSBRIDGE_EXPORT int hlsbridge_playlist_submit_key(hlsbridge_playlist *pl,
                                                   const hlsbridge_key *key);

/*
 * Reads FFmpeg's key info file at path: line 1 the key URI, line 2 the path
 * of a file holding the 16 key bytes, line 3 (optional) an IV of 32
 * hexadecimal digits. On failure (-EINVAL, or the OS's errno) the message,
 * from hlsbridge_playlist_error(pl), names the file and the line; no key
 * byte is ever in a message. *info is filled only on success; free it with
 * hlsbridge_key_info_free(), which also wipes the key. (1.2.0)
 */
HLSBRIDGE_EXPORT int hlsbridge_key_info_read(hlsbridge_playlist *pl, const char *path,
                                             hlsbridge_key_info *info);
HLSBRIDGE_EXPORT void hlsbridge_key_info_free(hlsbridge_key_info *info);

/* 32 hexadecimal digits (an "0x" prefix allowed) into out; -EINVAL, and out
 * unchanged, for anything else. (1.2.0) */
HLSBRIDGE_EXPORT int hlsbridge_parse_hex16(const char *text, uint8_t out[16]);

/*
 * Writes a small file (a generated key) as the playlist is written:
 * atomically and durably (temp file, fsync, rename, directory fsync), so
 * that it is whole before a playlist that names it is published. (1.2.0)
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_write_file(hlsbridge_playlist *pl, const char *path,
                                                   const void *data, size_t size);

/*
 * For segment files named file_path (the first of a name template, say):
 * refuses an empty path or one with a control character, creates its
 * directory (and parents, 0755) when missing, and checks that files can be
 * created there, so that a bad output fails before the first segment. The
 * error names the path and the cause. Returns 0 or a negative errno.
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_prepare_dir(hlsbridge_playlist *pl,
                                                    const char *file_path);

/*
 * Queues the removal of a segment file that will not be listed (e.g. one
 * that could not be written whole), after the segments submitted before it;
 * the next listed segment carries EXT-X-DISCONTINUITY. Returns 0, or -EINVAL
 * for a NULL or empty path.
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_discard_segment(hlsbridge_playlist *pl,
                                                        const char *file_path);

/*
 * Waits until every segment submitted (or discarded) before the call has
 * been listed or lost, then returns hlsbridge_playlist_take_error().
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_flush(hlsbridge_playlist *pl);

/*
 * Returns the first failure of the publisher thread not yet taken (a lost
 * segment, a failed playlist write) as a negative errno, with its message
 * available from hlsbridge_playlist_error(), and forgets it; 0 when there is
 * none. Never blocks.
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_take_error(hlsbridge_playlist *pl);

/*
 * Waits for the submitted segments (hlsbridge_playlist_flush), marks the
 * playlist finished (adds EXT-X-ENDLIST to live and event playlists) and
 * writes it. Further add_segment and submit_segment calls fail with -EINVAL.
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_finish(hlsbridge_playlist *pl);

/*
 * Deletes the files of removed segments still waiting (delete_segments).
 * wait nonzero: first sleeps until each one's RFC 8216 6.2.2 hold time has
 * passed; zero: deletes only those whose time has come. Returns the number of
 * files still pending (>= 0), or a negative errno.
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_delete_expired(hlsbridge_playlist *pl, int wait);

/*
 * Copies the current counters into *stats. Returns 0, or -EINVAL for NULL.
 */
HLSBRIDGE_EXPORT int hlsbridge_playlist_get_stats(hlsbridge_playlist *pl,
                                                  hlsbridge_playlist_stats *stats);

/*
 * Last error message of this handle ("" when none), copied for the calling
 * thread: valid until this thread's next call of this function.
 */
HLSBRIDGE_EXPORT const char *hlsbridge_playlist_error(const hlsbridge_playlist *pl);

/* Waits for the submitted segments to be listed or lost (see
 * hlsbridge_playlist_flush), stops the publisher thread and frees the
 * handle. Writes nothing else. NULL is allowed. */
HLSBRIDGE_EXPORT void hlsbridge_playlist_close(hlsbridge_playlist *pl);

/* ------------------------------------------------------------------------
 * ABR ladders (1.3.0): the multivariant playlist, FFmpeg's var_stream_map,
 * RFC 6381 codec strings.
 */

typedef struct hlsbridge_multivariant hlsbridge_multivariant;

typedef struct {
    /* Multivariant playlist file to (re)write. Required. Its directory is
     * created when missing; stale temp files of ours there are removed. */
    const char *path;
    int fsync_file;  /* nonzero (default): as in hlsbridge_playlist_options */
    int fsync_dir;   /* nonzero (default) */
    /* Nonzero: EXT-X-INDEPENDENT-SEGMENTS (every variant's segments start
     * with a key frame). */
    int independent_segments;
    hlsbridge_log_callback log_callback; /* NULL: no logging */
    void *log_opaque;
    /* NULL: the local file; else as in hlsbridge_playlist_options. (1.4.0) */
    hlsbridge_target *target;
} hlsbridge_multivariant_options;

typedef enum {
    HLSBRIDGE_RENDITION_VARIANT = 0, /* EXT-X-STREAM-INF */
    HLSBRIDGE_RENDITION_AUDIO        /* EXT-X-MEDIA:TYPE=AUDIO of a group */
} hlsbridge_rendition_kind;

typedef struct {
    hlsbridge_rendition_kind kind;
    /* Its media playlist: whether it exists yet, and the measured bit
     * rates. Required; must stay open while the multivariant is. */
    hlsbridge_playlist *playlist;
    /* URI as printed (percent-encoded where needed); NULL: the media
     * playlist's path relative to the multivariant playlist's directory. */
    const char *uri;
    /* RFC 6381 codecs, comma-separated (hlsbridge_codec_string); NULL or
     * "": no CODECS attribute. */
    const char *codecs;
    /* Bits/s from the streams' declared rates; 0: unknown. */
    uint64_t declared_bandwidth;
    /* HLSBRIDGE_RENDITION_VARIANT: RESOLUTION (0: none), FRAME-RATE (0:
     * none), AUDIO group (NULL: none). A variant's BANDWIDTH and CODECS
     * include those of its audio group's largest rendition. */
    int width, height;
    double frame_rate;
    const char *audio_group;
    /* HLSBRIDGE_RENDITION_AUDIO: GROUP-ID and NAME (required), LANGUAGE
     * (NULL: none), DEFAULT, AUTOSELECT. */
    const char *group_id;
    const char *name;
    const char *language;
    int is_default;
    int autoselect;
} hlsbridge_rendition;

/* Fills *opts with the defaults (fsync_file and fsync_dir on). */
HLSBRIDGE_EXPORT void hlsbridge_multivariant_options_init(hlsbridge_multivariant_options *opts);

/* Validates the options, creates the directory, returns a handle in *out.
 * Writes nothing. On failure *out is NULL and hlsbridge_last_open_error()
 * says why. */
HLSBRIDGE_EXPORT int hlsbridge_multivariant_open(const hlsbridge_multivariant_options *opts,
                                                 hlsbridge_multivariant **out);

/* Adds an entry, in the order printed (EXT-X-MEDIA entries come first).
 * -EINVAL for a URI or quoted value that cannot be printed (a '"', a
 * control character), an audio rendition without group or name, or after
 * the first write. */
HLSBRIDGE_EXPORT int hlsbridge_multivariant_add(hlsbridge_multivariant *mv,
                                                const hlsbridge_rendition *r);

typedef enum {
    /* Writes once every media playlist exists (BANDWIDTH: the larger of
     * the declared and the measured peak rate; AVERAGE-BANDWIDTH: the
     * measured average), then again whenever a measured peak exceeds the
     * published BANDWIDTH by more than 10%. */
    HLSBRIDGE_MULTIVARIANT_IF_NEEDED = 0,
    /* Writes the current values now, once every media playlist exists. */
    HLSBRIDGE_MULTIVARIANT_REFRESH,
    /* The stream has ended: writes the measured values (the last write). */
    HLSBRIDGE_MULTIVARIANT_FINAL
} hlsbridge_multivariant_mode;

/* Publishes the multivariant playlist as hlsbridge_playlist_write() does
 * (atomically, durably; a failure leaves the previous file intact) when
 * `mode` says so. Returns 1 when it wrote, 0 when it did not need to, or a
 * negative errno (a variant naming an audio group that has no rendition:
 * -EINVAL). Call it from one thread at a time. */
HLSBRIDGE_EXPORT int hlsbridge_multivariant_update(hlsbridge_multivariant *mv,
                                                   hlsbridge_multivariant_mode mode);

/* Last error message of this handle ("" when none), as
 * hlsbridge_playlist_error(). */
HLSBRIDGE_EXPORT const char *hlsbridge_multivariant_error(const hlsbridge_multivariant *mv);

/* Frees the handle; writes nothing. NULL is allowed. */
HLSBRIDGE_EXPORT void hlsbridge_multivariant_close(hlsbridge_multivariant *mv);

/* One stream of a variant: 'v' (video), 'a' (audio) or 's' (subtitles),
 * and its index among the output's streams of that type. */
typedef struct {
    char type;
    unsigned index;
} hlsbridge_stream_ref;

typedef struct {
    hlsbridge_stream_ref *streams; /* nb_streams >= 1 */
    size_t nb_streams;
    /* Attributes; NULL when not given. */
    char *name;     /* replaces %v in file names (else the variant's index) */
    char *agroup;   /* audio group */
    char *sgroup;   /* subtitle group */
    char *ccgroup;  /* closed-caption group */
    char *language;
    int is_default; /* default:yes */
} hlsbridge_variant_spec;

typedef struct {
    hlsbridge_variant_spec *variants;
    size_t nb_variants;
} hlsbridge_stream_map;

/* Parses FFmpeg's var_stream_map syntax: variants separated by spaces,
 * each a comma-separated list of v:N, a:N, s:N and key:value attributes
 * (name, agroup, sgroup, ccgroup, language, default). On failure returns
 * -EINVAL and writes a message naming the variant and the item into
 * err[0..err_size-1] (truncated, NUL-terminated); *map is then untouched.
 * Free a parsed map with hlsbridge_stream_map_free(). */
HLSBRIDGE_EXPORT int hlsbridge_stream_map_parse(const char *text, hlsbridge_stream_map *map,
                                                char *err, size_t err_size);
HLSBRIDGE_EXPORT void hlsbridge_stream_map_free(hlsbridge_stream_map *map);

typedef enum {
    HLSBRIDGE_CODEC_OTHER = 0,
    HLSBRIDGE_CODEC_H264,
    HLSBRIDGE_CODEC_HEVC,
    HLSBRIDGE_CODEC_AV1,  /* extradata: an av1C box's payload */
    HLSBRIDGE_CODEC_AAC,
    HLSBRIDGE_CODEC_OPUS,
    HLSBRIDGE_CODEC_MP3,
    HLSBRIDGE_CODEC_AC3,
    HLSBRIDGE_CODEC_EAC3
} hlsbridge_codec_id;

/* The RFC 6381 name of a stream ("avc1.64001F", "hvc1.1.6.L93.90",
 * "av01.0.04M.08", "mp4a.40.2", "Opus"...) from its codec and extradata
 * (H.264/HEVC: avcC/hvcC or Annex B parameter sets; AAC: the
 * AudioSpecificConfig, else aac_object_type). Writes it, NUL-terminated,
 * to out[0..out_size-1] and returns 0; or returns -EINVAL (-ERANGE when it
 * does not fit) and writes the reason there instead. */
HLSBRIDGE_EXPORT int hlsbridge_codec_string(hlsbridge_codec_id codec, const uint8_t *extradata,
                                            size_t extradata_size, int aac_object_type,
                                            char *out, size_t out_size);

/* ------------------------------------------------------------------------
 * Continuing a playlist after a restart (1.3.0).
 */

typedef struct {
    int resumed;                     /* an existing playlist was read */
    size_t segments;                 /* segments it lists */
    uint64_t next_media_sequence;    /* media sequence of the segment after them */
    uint64_t discontinuity_sequence;
    uint64_t target_duration;
    int ended;                       /* it has EXT-X-ENDLIST */
    char *last_uri;                  /* its last segment's URI as printed; NULL if none */
    char *map_uri;                   /* the EXT-X-MAP in force at its end; NULL if none */
    /* Program date-time at the end of its last segment (Unix ms), or
     * HLSBRIDGE_NO_PDT: a continuing stream's date-times start no earlier. */
    int64_t pdt_end_ms;
    /* An AES-128 key applies to its last segment. */
    int key_in_force;
} hlsbridge_resume_info;

/* What hlsbridge_playlist_open() continued (resume): *info is filled (all
 * zero when nothing was); free it with hlsbridge_resume_info_free(). */
HLSBRIDGE_EXPORT int hlsbridge_playlist_get_resume_info(hlsbridge_playlist *pl,
                                                        hlsbridge_resume_info *info);

/* Reads the playlist at path as resume would, without opening a handle:
 * 0 and *info filled, -ENOENT when there is no file, or another negative
 * errno with the reason (file, line, cause) in err[0..err_size-1]. */
HLSBRIDGE_EXPORT int hlsbridge_playlist_read_info(const char *path, hlsbridge_resume_info *info,
                                                  char *err, size_t err_size);

/* The same, the playlist read through a target's get (NULL: the local
 * file); -ENOENT when there is none. (1.4.0) */
HLSBRIDGE_EXPORT int hlsbridge_playlist_read_info_from(hlsbridge_target *target,
                                                       const char *path,
                                                       hlsbridge_resume_info *info,
                                                       char *err, size_t err_size);

HLSBRIDGE_EXPORT void hlsbridge_resume_info_free(hlsbridge_resume_info *info);

/* "MAJOR.MINOR.PATCH" of the library, static storage. */
HLSBRIDGE_EXPORT const char *hlsbridge_version(void);

#ifdef __cplusplus
}
#endif

#endif /* HLSBRIDGE_HLSBRIDGE_H */
