// koffi's own layouts of the running target's structs equal the YAML (run natively, on arm64 under
// qemu and on win32-x64 under Wine: each checks its own target).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TypeObject } from 'koffi';
import { koffi } from '../src/sys/koffi.js'; // the library's copy: one koffi in the process
import { structs as runningStructs, platform } from '../src/sys/index.js';
import type { StructInfo } from '../generated/types.js';

type TypeSpec = string | TypeObject;

// koffi computes its own layouts from the same field types; they must equal the YAML's.
const KOFFI_TYPE: Record<string, string> = {
  int8: 'int8_t', uint8: 'uint8_t', int16: 'int16_t', uint16: 'uint16_t', int32: 'int32_t', uint32: 'uint32_t',
  int64: 'int64_t', uint64: 'uint64_t', char: 'char', short: 'short', ushort: 'unsigned short', int: 'int',
  uint: 'unsigned int', long: 'long', ulong: 'unsigned long', longlong: 'long long', ulonglong: 'unsigned long long',
  intptr: 'intptr_t', uintptr: 'uintptr_t', pointer: 'void *',
};
function koffiType(name: string, s: StructInfo, cache: Map<string, TypeObject>): TypeObject {
  const have = cache.get(name);
  if (have) return have;
  const def: Record<string, TypeSpec> = {};
  for (const [fname, f] of Object.entries(s.fields)) {
    const el: TypeSpec = KOFFI_TYPE[f.type] ?? koffiType(f.type, (runningStructs as Record<string, StructInfo>)[f.type]!, cache);
    def[fname] = f.count === null ? el : koffi.array(el, f.count, 'Array');
  }
  const t = s.packed ? koffi.pack(def) : koffi.struct(def);
  cache.set(name, t);
  return t;
}

test(`koffi's layouts equal the YAML for every struct of ${platform.name}`, () => {
  const cache = new Map<string, TypeObject>();
  const entries = Object.entries(runningStructs) as [string, StructInfo][];
  assert.ok(entries.length >= 10);
  for (const [name, s] of entries) {
    const t = koffiType(name, s, cache);
    assert.is(koffi.sizeof(t), s.size, `${name} size`);
    assert.is(koffi.alignof(t), s.align, `${name} align`);
    for (const [fname, f] of Object.entries(s.fields)) assert.is(koffi.offsetof(t, fname), f.offset, `${name}.${fname} offset`);
  }
});

test.run();
