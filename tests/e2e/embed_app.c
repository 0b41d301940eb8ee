/*
 * An application embedding the custom libavformat: it remuxes an MPEG-TS
 * file into the hlsbridge muxer opened by name, with options from an
 * AVDictionary and its own io_open/io_close2 callbacks, which must see every
 * segment file (the muxer opens segments through the application's I/O).
 *
 * usage: embed_app INPUT.ts OUTPUT.m3u8
 * Prints "segments opened: N, closed: N" and exits 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/dict.h>

#include "app_util.h"

static int (*default_io_open)(AVFormatContext *s, AVIOContext **pb,
                              const char *url, int flags,
                              AVDictionary **options);
static int (*default_io_close2)(AVFormatContext *s, AVIOContext *pb);
static int ts_opened, ts_closed;

static int app_io_open(AVFormatContext *s, AVIOContext **pb, const char *url,
                       int flags, AVDictionary **options)
{
    size_t n = strlen(url);
    if (n > 3 && !strcmp(url + n - 3, ".ts"))
        ts_opened++;
    return default_io_open(s, pb, url, flags, options);
}

static int app_io_close2(AVFormatContext *s, AVIOContext *pb)
{
    ts_closed++;
    return default_io_close2(s, pb);
}

int main(int argc, char **argv)
{
    AVFormatContext *in = NULL, *out = NULL;
    AVDictionary *opts = NULL;
    AVPacket *pkt = NULL;
    int ret;

    if (argc != 3) {
        fprintf(stderr, "usage: %s INPUT.ts OUTPUT.m3u8\n", argv[0]);
        return 2;
    }
    if ((ret = avformat_open_input(&in, argv[1], NULL, NULL)) < 0 ||
        (ret = avformat_find_stream_info(in, NULL)) < 0)
        goto end;
    if ((ret = avformat_alloc_output_context2(&out, NULL, "hlsbridge", argv[2])) < 0)
        goto end;
    if (strcmp(out->oformat->name, "hlsbridge")) {
        fprintf(stderr, "got muxer %s\n", out->oformat->name);
        ret = AVERROR_MUXER_NOT_FOUND;
        goto end;
    }
    default_io_open   = out->io_open;
    default_io_close2 = out->io_close2;
    out->io_open      = app_io_open;
    out->io_close2    = app_io_close2;

    if ((ret = app_copy_streams(in, out)) < 0)
        goto end;
    av_dict_set(&opts, "hls_time", "1", 0);
    av_dict_set(&opts, "hls_list_size", "3", 0);
    av_dict_set(&opts, "hls_playlist_type", "event", 0);
    if ((ret = avformat_write_header(out, &opts)) < 0)
        goto end;
    if (av_dict_count(opts)) {
        fprintf(stderr, "options not taken: %s\n", av_dict_get(opts, "", NULL, AV_DICT_IGNORE_SUFFIX)->key);
        ret = AVERROR(EINVAL);
        goto end;
    }
    if (!(pkt = av_packet_alloc())) {
        ret = AVERROR(ENOMEM);
        goto end;
    }
    while ((ret = av_read_frame(in, pkt)) >= 0) {
        av_packet_rescale_ts(pkt, in->streams[pkt->stream_index]->time_base,
                             out->streams[pkt->stream_index]->time_base);
        pkt->pos = -1;
        if ((ret = av_interleaved_write_frame(out, pkt)) < 0)
            goto end;
    }
    if (ret != AVERROR_EOF)
        goto end;
    ret = av_write_trailer(out);
    printf("segments opened: %d, closed: %d\n", ts_opened, ts_closed);

end:
    return app_finish("embed_app", ret, &pkt, &opts, &in, out);
}
