/* Build-time host tool: turns the dashboard files into a C source holding
 * each file as it is and gzip-compressed, with its content type and a
 * content-hash ETag (the bw_asset table of include/beaconwatch/bw_serve.h),
 * so that `beaconwatch serve` is one self-contained program.
 *
 *   embed_assets OUT.c [--dir DIR] [--file URLPATH=FILE]...
 *
 * Every file under DIR is served at /<its path relative to DIR>; --file
 * adds one file at URLPATH. Paths are sorted, so the output is stable. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_FILES 4096
#define MAX_SIZE (64u << 20)

typedef struct item {
    char *url, *file;
} item;

static item items[MAX_FILES];
static size_t nitems;

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "embed_assets: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

static void add(const char *url, const char *file)
{
    /* The path goes into a C string literal and a URL: keep it plain. */
    for (const char *p = url; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-' || *p == '/'))
            die("unsupported character in path", url);
    if (nitems == MAX_FILES)
        die("too many files", NULL);
    items[nitems].url = strdup(url);
    items[nitems].file = strdup(file);
    if (!items[nitems].url || !items[nitems].file)
        die("out of memory", NULL);
    nitems++;
}

/* Adds every regular file under dir/rel, skipping dot files. */
static void walk(const char *dir, const char *rel)
{
    char path[4096], sub[4096];
    snprintf(path, sizeof path, "%s%s", dir, rel);
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d)
        die("cannot read directory", path);
    while ((e = readdir(d))) {
        struct stat sb;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
        snprintf(path, sizeof path, "%s%s", dir, sub);
        if (stat(path, &sb) != 0)
            die("cannot stat", path);
        if (S_ISDIR(sb.st_mode))
            walk(dir, sub);
        else if (S_ISREG(sb.st_mode))
            add(sub, path);
    }
    closedir(d);
}

static const char *type_of(const char *url)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".map", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    size_t ul = strlen(url);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t el = strlen(types[i].ext);
        if (ul >= el && strcmp(url + ul - el, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static unsigned char *slurp(const char *file, size_t *n)
{
    FILE *f = fopen(file, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0)
        die("cannot open", file);
    if ((uintmax_t)sb.st_size > MAX_SIZE)
        die("file too large", file);
    unsigned char *p = malloc((size_t)sb.st_size + 1);
    if (!p)
        die("out of memory", NULL);
    *n = fread(p, 1, (size_t)sb.st_size, f);
    if (*n != (size_t)sb.st_size || ferror(f))
        die("cannot read", file);
    fclose(f);
    return p;
}

static unsigned char *gzip(const unsigned char *src, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2 failed", NULL);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    if (!out)
        die("out of memory", NULL);
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        die("deflate failed", NULL);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static void emit_bytes(FILE *o, const char *name, const unsigned char *p, size_t n)
{
    fprintf(o, "static const unsigned char %s[%zu] = {", name, n ? n : 1);
    if (!n)
        fputs("0", o);
    for (size_t i = 0; i < n; i++)
        fprintf(o, "%s%u,", i % 24 ? "" : "\n", p[i]);
    fputs("\n};\n", o);
}

static int by_url(const void *a, const void *b)
{
    return strcmp(((const item *)a)->url, ((const item *)b)->url);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: embed_assets OUT.c [--dir DIR] [--file URLPATH=FILE]...", NULL);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            struct stat sb;
            if (stat(argv[++i], &sb) == 0 && S_ISDIR(sb.st_mode))
                walk(argv[i], "");
        } else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            if (!eq || argv[i][0] != '/')
                die("--file wants /URLPATH=FILE", argv[i]);
            *eq = '\0';
            add(argv[i], eq + 1);
        } else {
            die("unknown argument", argv[i]);
        }
    }
    qsort(items, nitems, sizeof *items, by_url);
    for (size_t i = 1; i < nitems; i++)
        if (strcmp(items[i].url, items[i - 1].url) == 0)
            die("two files for one path", items[i].url);

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *o = fopen(tmp, "w");
    if (!o)
        die("cannot write", tmp);
    fputs("/* Generated by tools/embed_assets.c from web/: do not edit. */\n"
          "#include \"beaconwatch/bw_serve.h\"\n\n", o);
    char (*etags)[24] = calloc(nitems ? nitems : 1, sizeof *etags);
    if (!etags)
        die("out of memory", NULL);
    for (size_t i = 0; i < nitems; i++) {
        size_t n, gn;
        unsigned char *raw = slurp(items[i].file, &n);
        unsigned char *gz = gzip(raw, n, &gn);
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t k = 0; k < n; k++) {
            h ^= raw[k];
            h *= 0x100000001b3ULL;
        }
        snprintf(etags[i], sizeof etags[i], "%016llx", (unsigned long long)h);
        char name[32];
        snprintf(name, sizeof name, "raw_%zu", i);
        emit_bytes(o, name, raw, n);
        snprintf(name, sizeof name, "gz_%zu", i);
        emit_bytes(o, name, gz, gn);
        fprintf(o, "#define RAW_%zu %zu\n#define GZ_%zu %zu\n", i, n, i, gn);
        free(raw);
        free(gz);
    }
    fputs("\nconst bw_asset bw_web_assets[] = {\n", o);
    for (size_t i = 0; i < nitems; i++)
        fprintf(o, "    {\"%s\", \"%s\", \"\\\"%s\\\"\", gz_%zu, GZ_%zu, raw_%zu, RAW_%zu},\n",
                items[i].url, type_of(items[i].url), etags[i], i, i, i, i);
    if (!nitems)
        fputs("    {0, 0, 0, 0, 0, 0, 0},\n", o);
    fprintf(o, "};\nconst size_t bw_web_nassets = %zu;\n", nitems);
    free(etags);
    if (fclose(o) != 0 || rename(tmp, argv[1]) != 0)
        die("cannot write", argv[1]);
    return 0;
}
