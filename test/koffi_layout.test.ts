// koffi's own layouts of the running target's structs equal the YAML (run natively, on arm64 under
// qemu and on win32-x64 under Wine: each checks its own target).

import type { TypeObject } from 'koffi';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KOFFI_TYPES } from '../codegen/ctypes.js';
import { targets } from '../generated/index.js';
import type { StructInfo } from '../generated/types.js';
import { platform, structs as runningStructs } from '../src/sys/index.js';
import { koffi } from '../src/sys/koffi.js'; // the library's copy: one koffi in the process

// koffi computes its own layouts from the generator's field types; they must equal the YAML's.
const PRIMITIVE_TYPES: Record<string, string | undefined> = KOFFI_TYPES;
type TypeSpec = string | TypeObject;

/**
 * koffi's type for struct `name` of a struct table, with the YAML's packing carried over: a packed
 * struct is koffi.pack; a struct aligned below its members' natural alignment (`#pragma pack(N)`,
 * as darwin's kevent) caps each member's alignment at N, as the pragma does.
 */
function koffiType(
  name: string,
  s: StructInfo,
  table: Readonly<Record<string, StructInfo | undefined>>,
  cache: Map<string, TypeObject>,
): TypeObject {
  const have = cache.get(name);
  if (have) return have;
  const def: Record<string, TypeSpec | [number, TypeSpec]> = {};
  for (const [fname, f] of Object.entries(s.fields)) {
    const el: TypeSpec = PRIMITIVE_TYPES[f.type] ?? koffiType(f.type, table[f.type]!, table, cache);
    const spec = f.count === null ? el : koffi.array(el, f.count, 'Array');
    def[fname] = !s.packed && koffi.alignof(spec) > s.align ? [s.align, spec] : spec;
  }
  const t = s.packed ? koffi.pack(def as Record<string, TypeSpec>) : koffi.struct(def);
  cache.set(name, t);
  return t;
}

function checkAll(table: Readonly<Record<string, StructInfo | undefined>>, where: string): number {
  const cache = new Map<string, TypeObject>();
  const entries = Object.entries(table).filter((e): e is [string, StructInfo] => e[1] !== undefined);
  for (const [name, s] of entries) {
    const t = koffiType(name, s, table, cache);
    assert.is(koffi.sizeof(t), s.size, `${where} ${name} size`);
    assert.is(koffi.alignof(t), s.align, `${where} ${name} align`);
    for (const [fname, f] of Object.entries(s.fields)) assert.is(koffi.offsetof(t, fname), f.offset, `${where} ${name}.${fname} offset`);
  }
  return entries.length;
}

test(`koffi's layouts equal the YAML for every struct of ${platform.name}`, () => {
  assert.ok(checkAll(runningStructs as Record<string, StructInfo>, platform.name) >= 10);
});

test(`koffi, given the YAML's packing, lays out every struct of every target with ${platform.name}'s data model as the YAML does (darwin's kevent under #pragma pack(4) included)`, () => {
  const same = Object.entries(targets).filter(
    ([, m]) => m.target.model === (targets as Record<string, { target: { model: string } }>)[platform.name]?.target.model,
  );
  assert.ok(same.length >= 2, `${same.length} targets share the data model`);
  let structsChecked = 0;
  for (const [name, m] of same) structsChecked += checkAll(m.structs as Record<string, StructInfo>, name);
  assert.ok(structsChecked >= 10 * same.length, `${structsChecked} structs checked`);
  if (same.some(([n]) => n === 'darwin-arm64')) {
    const k = (targets['darwin-arm64'].structs as Record<string, StructInfo>).kevent!;
    assert.is(k.align, 4, "darwin's kevent is packed to 4 in the YAML");
  }
});

test.run();
