/* libFuzzer target for the asim-csv reader; see fuzz_reader.h for what
 * each input exercises. */
#include "fuzz_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_reader(&bw_reader_asim_csv, data, size);
}
