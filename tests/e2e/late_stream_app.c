/*
 * An application that writes packets itself (av_write_frame, not
 * interleaved) while the segment directory goes away and comes back: the
 * muxer must drop media instead of failing, and an audio stream whose first
 * packet arrives while no segment can be written must not crash it.
 *
 * usage: late_stream_app INPUT.ts OUTPUT_DIR
 *   INPUT.ts: H.264 video (key frame every second) and audio, 6 s or more.
 * Writes OUTPUT_DIR/index.m3u8 with segments OUTPUT_DIR/seg/s%d.ts, 1 s each:
 *   video only up to 2.5 s; then OUTPUT_DIR/seg is renamed away, so the cut
 *   at 3 s cannot open the next segment file; at 3.5 s the first audio packet
 *   is written; then the directory is put back and every packet is written.
 * Prints "audio packets written: N" and exits 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/dict.h>

#include "app_util.h"

int main(int argc, char **argv)
{
    AVFormatContext *in = NULL, *out = NULL;
    AVDictionary *opts = NULL;
    AVPacket *pkt = NULL;
    char playlist[4096], seg[4096], away[4096], pattern[4096];
    int video = -1, audio = -1, phase = 0, audio_written = 0;
    int ret;

    if (argc != 3) {
        fprintf(stderr, "usage: %s INPUT.ts OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    if (snprintf(playlist, sizeof(playlist), "%s/index.m3u8", argv[2]) >= sizeof(playlist) ||
        snprintf(seg, sizeof(seg), "%s/seg", argv[2]) >= sizeof(seg) ||
        snprintf(away, sizeof(away), "%s/seg.away", argv[2]) >= sizeof(away) ||
        snprintf(pattern, sizeof(pattern), "%s/seg/s%%d.ts", argv[2]) >= sizeof(pattern)) {
        fprintf(stderr, "late_stream_app: output directory name too long\n");
        return 2;
    }

    if ((ret = avformat_open_input(&in, argv[1], NULL, NULL)) < 0 ||
        (ret = avformat_find_stream_info(in, NULL)) < 0)
        goto end;
    if ((ret = avformat_alloc_output_context2(&out, NULL, "hlsbridge", playlist)) < 0)
        goto end;
    if ((ret = app_copy_streams(in, out)) < 0)
        goto end;
    for (unsigned i = 0; i < in->nb_streams; i++) {
        enum AVMediaType type = in->streams[i]->codecpar->codec_type;
        if (type == AVMEDIA_TYPE_VIDEO && video < 0)
            video = i;
        if (type == AVMEDIA_TYPE_AUDIO && audio < 0)
            audio = i;
    }
    if (video < 0 || audio < 0) {
        fprintf(stderr, "late_stream_app: the input needs video and audio\n");
        ret = AVERROR(EINVAL);
        goto end;
    }
    av_dict_set(&opts, "hls_time", "1", 0);
    av_dict_set(&opts, "hls_playlist_type", "event", 0);
    av_dict_set(&opts, "hls_segment_filename", pattern, 0);
    if ((ret = avformat_write_header(out, &opts)) < 0)
        goto end;
    if (!(pkt = av_packet_alloc())) {
        ret = AVERROR(ENOMEM);
        goto end;
    }

    while ((ret = av_read_frame(in, pkt)) >= 0) {
        AVStream *ist = in->streams[pkt->stream_index];
        double t = pkt->pts == AV_NOPTS_VALUE ? 0 :
                   (pkt->pts - (ist->start_time == AV_NOPTS_VALUE ? 0 : ist->start_time)) *
                   av_q2d(ist->time_base);

        if (pkt->stream_index == video) {
            if (phase == 0 && t >= 2.5) {
                if (rename(seg, away) < 0) {
                    perror("rename");
                    ret = AVERROR(EIO);
                    goto end;
                }
                phase = 1;
            }
        } else if (pkt->stream_index == audio) {
            /* Audio waits for the directory to be gone and a cut to fail;
             * its first packet then meets a muxer writing no segment. */
            if (phase == 1 && t >= 3.5) {
                phase = 2;
            } else if (phase < 2) {
                av_packet_unref(pkt);
                continue;
            }
        } else {
            av_packet_unref(pkt);
            continue;
        }

        av_packet_rescale_ts(pkt, ist->time_base,
                             out->streams[pkt->stream_index]->time_base);
        pkt->pos = -1;
        if (pkt->stream_index == audio)
            audio_written++;
        if ((ret = av_write_frame(out, pkt)) < 0)
            goto end;
        av_packet_unref(pkt);

        if (phase == 2) {
            /* The first audio packet is in: space is back, so to speak. */
            if (rename(away, seg) < 0) {
                perror("rename back");
                ret = AVERROR(EIO);
                goto end;
            }
            phase = 3;
        }
    }
    if (ret != AVERROR_EOF)
        goto end;
    ret = av_write_trailer(out);
    printf("audio packets written: %d\n", audio_written);

end:
    return app_finish("late_stream_app", ret, &pkt, &opts, &in, out);
}
