/* Writes a one-segment VOD playlist to argv[1] through the installed library. */
#include <stdio.h>

#include <hlsbridge/hlsbridge.h>

int main(int argc, char **argv)
{
    hlsbridge_playlist_options opts;
    hlsbridge_playlist *pl;
    hlsbridge_segment seg = { "a.ts", 2.0, HLSBRIDGE_NO_PDT, 0, NULL };

    if (argc != 2)
        return 2;
    hlsbridge_playlist_options_init(&opts);
    opts.path = argv[1];
    if (hlsbridge_playlist_open(&opts, &pl) < 0) {
        fprintf(stderr, "%s\n", hlsbridge_last_open_error());
        return 1;
    }
    if (hlsbridge_playlist_add_segment(pl, &seg) < 0 || hlsbridge_playlist_write(pl) < 0) {
        fprintf(stderr, "%s\n", hlsbridge_playlist_error(pl));
        hlsbridge_playlist_close(pl);
        return 1;
    }
    hlsbridge_playlist_close(pl);
    return 0;
}
