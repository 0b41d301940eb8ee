/*
 * What the test applications (embed_app.c, late_stream_app.c) share: their
 * output streams and their end. Header-only, so that each builds from its
 * one source file.
 */
#ifndef HLSBRIDGE_TESTS_E2E_APP_UTIL_H
#define HLSBRIDGE_TESTS_E2E_APP_UTIL_H

#include <stdio.h>

#include <libavformat/avformat.h>
#include <libavutil/dict.h>

/* An output stream for each input stream, with its parameters and time
 * base (a remux); 0 or a negative AVERROR. */
static inline int app_copy_streams(const AVFormatContext *in, AVFormatContext *out)
{
    for (unsigned i = 0; i < in->nb_streams; i++) {
        AVStream *st = avformat_new_stream(out, NULL);
        int ret;
        if (!st)
            return AVERROR(ENOMEM);
        if ((ret = avcodec_parameters_copy(st->codecpar, in->streams[i]->codecpar)) < 0)
            return ret;
        st->codecpar->codec_tag = 0;
        st->time_base = in->streams[i]->time_base;
    }
    return 0;
}

/* Frees what an application holds and turns its last result into an exit
 * status, printing an error under the application's name. */
static inline int app_finish(const char *name, int ret, AVPacket **pkt,
                             AVDictionary **opts, AVFormatContext **in,
                             AVFormatContext *out)
{
    av_packet_free(pkt);
    av_dict_free(opts);
    avformat_close_input(in);
    avformat_free_context(out);
    if (ret < 0) {
        fprintf(stderr, "%s: %s\n", name, av_err2str(ret));
        return 1;
    }
    return 0;
}

#endif /* HLSBRIDGE_TESTS_E2E_APP_UTIL_H */
