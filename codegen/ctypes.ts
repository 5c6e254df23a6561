// The C type koffi is given for each primitive of syscalls.yaml: the generator writes prototypes
// and struct fields with it, and the koffi layout test builds its structs from it. No imports, so
// the test's bundle for Wine and qemu carries nothing of the generator.
import type { Primitive } from './model.js';

export const KOFFI_TYPES: Record<Primitive, string> = {
  void: 'void',
  int8: 'int8_t',
  uint8: 'uint8_t',
  int16: 'int16_t',
  uint16: 'uint16_t',
  int32: 'int32_t',
  uint32: 'uint32_t',
  int64: 'int64_t',
  uint64: 'uint64_t',
  char: 'char',
  short: 'short',
  ushort: 'unsigned short',
  int: 'int',
  uint: 'unsigned int',
  long: 'long',
  ulong: 'unsigned long',
  longlong: 'long long',
  ulonglong: 'unsigned long long',
  intptr: 'intptr_t',
  uintptr: 'uintptr_t',
  pointer: 'void *',
};
