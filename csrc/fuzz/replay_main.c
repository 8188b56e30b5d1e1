/*
 * replay_main.c -- runs the fuzz harness (fuzz_radix.c) on files, without
 * libFuzzer, so the seed corpus and saved regressions replay with any C99
 * compiler (gcc included):
 *
 *   gcc -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
 *       -Icsrc csrc/radix.c csrc/fuzz/fuzz_radix.c csrc/fuzz/replay_main.c \
 *       -o csrc/build/fuzz/replay_radix
 *   csrc/build/fuzz/replay_radix csrc/fuzz/corpus csrc/fuzz/regressions
 *
 * Arguments are files or directories (their regular files, not recursive,
 * skipping dot files and *.md / *.txt notes).
 * FUZZ_TRACE=1 prints every operation the harness runs.  A mismatch aborts
 * (non-zero exit); otherwise prints how many inputs ran.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, got;
    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                fclose(f);
                free(buf);
                fprintf(stderr, "%s: out of memory\n", path);
                return -1;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    if (getenv("FUZZ_TRACE"))
        fprintf(stderr, "== %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int i, ran = 0, errors = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            errors++;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            char **names = NULL;
            size_t n = 0, cap = 0, j;
            if (d == NULL) {
                perror(argv[i]);
                errors++;
                continue;
            }
            while ((e = readdir(d)) != NULL) {
                size_t plen = strlen(argv[i]) + strlen(e->d_name) + 2;
                char *p;
                struct stat fst;
                size_t nlen = strlen(e->d_name);
                if (e->d_name[0] == '.' ||
                    (nlen > 3 && (strcmp(e->d_name + nlen - 3, ".md") == 0 ||
                                  strcmp(e->d_name + nlen - 4, ".txt") == 0)))
                    continue; /* notes next to the inputs (regressions/README.md) */
                p = malloc(plen);
                if (p == NULL)
                    return 1;
                snprintf(p, plen, "%s/%s", argv[i], e->d_name);
                if (stat(p, &fst) != 0 || !S_ISREG(fst.st_mode)) {
                    free(p);
                    continue;
                }
                if (n == cap) {
                    char **nn;
                    cap = cap ? cap * 2 : 64;
                    nn = realloc(names, cap * sizeof *names);
                    if (nn == NULL)
                        return 1;
                    names = nn;
                }
                names[n++] = p;
            }
            closedir(d);
            if (n)
                qsort(names, n, sizeof *names, cmp_str); /* stable order */
            for (j = 0; j < n; j++) {
                if (run_file(names[j]) != 0)
                    errors++;
                else
                    ran++;
                free(names[j]);
            }
            free(names);
        } else if (run_file(argv[i]) != 0) {
            errors++;
        } else {
            ran++;
        }
    }
    printf("replayed %d input(s), %d unreadable\n", ran, errors);
    return errors ? 1 : 0;
}
