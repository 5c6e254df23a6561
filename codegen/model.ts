// Reads syscalls.yaml, validates it (JSON schema, then semantic checks that point at the line) and
// resolves it into one plain model per target: constants, struct layouts and function prototypes.
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { Ajv } from 'ajv';
import { isNode, LineCounter, parseDocument } from 'yaml';
import schema from './schema.json' with { type: 'json' };

// ---- resolved model ---------------------------------------------------------------------------

export type Primitive =
  | 'void'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'char'
  | 'short'
  | 'ushort'
  | 'int'
  | 'uint'
  | 'long'
  | 'ulong'
  | 'longlong'
  | 'ulonglong'
  | 'intptr'
  | 'uintptr'
  | 'pointer';

export const PRIMITIVES: readonly Primitive[] = [
  'void',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'char',
  'short',
  'ushort',
  'int',
  'uint',
  'long',
  'ulong',
  'longlong',
  'ulonglong',
  'intptr',
  'uintptr',
  'pointer',
];

export interface DataModel {
  short: number;
  int: number;
  long: number;
  longlong: number;
  pointer: number;
  int64_align: number;
}

export interface Target {
  name: string;
  os: string;
  arch: string;
  model: DataModel;
  modelName: string;
  endian: 'little' | 'big';
  libc: string;
  verify: string | null;
  stdcall: boolean;
  kqueue: string | null;
  /** Whether koffi publishes a native module for it ('prebuild'), must be built from source on it, or cannot run there ('none'). */
  koffi: 'prebuild' | 'source' | 'none';
  /** The event queues it runs, the default first (from `oses`, or the target's own list). */
  backends: string[];
  /** Its socket API: 'bsd' or 'winsock'. */
  net: string;
  /** The C prelude of its layout probe (its OS's `probe`, or the OS it is `like`). */
  probe: string[];
  /** The OS whose values its OS takes (`like:`), or null. */
  like: string | null;
}

export interface FieldLayout {
  name: string;
  ctype: string; // as written in the YAML
  type: Primitive | string; // primitive, or a struct name
  count: number | null; // array length, or null for a scalar
  offset: number;
  size: number;
  align: number;
}
export interface StructLayout {
  name: string;
  c: string;
  header: string;
  size: number;
  align: number;
  packed: boolean;
  fields: FieldLayout[];
}
export interface Param {
  name: string;
  ctype: string;
  type: Primitive;
  pointer: boolean;
}
export interface FunctionSpec {
  name: string;
  symbol: string;
  lib: string;
  proto: string;
  ret: Param;
  params: Param[];
  variadic: boolean;
  stdcall: boolean;
  errors: string;
  blocking: boolean;
  hot: boolean;
  optional: boolean;
  doc: string;
}
export interface ConstantSpec {
  name: string;
  value: number;
  group: string;
  header: string;
}

export interface TargetModel {
  target: Target;
  libraries: Record<string, string[]>;
  constants: ConstantSpec[];
  structs: StructLayout[];
  functions: FunctionSpec[];
  decls: string;
  /** Constants and structs whose value or layout this target takes from a group key (bsd, unix...), when no compiler checks the target. */
  inherited: string[];
}

export interface Spec {
  targets: Target[];
  models: TargetModel[];
  oses: string[];
  backends: string[];
}

export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`syscalls.yaml is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`);
    this.name = 'SpecError';
  }
}

// ---- raw YAML shape (after schema validation) -------------------------------------------------

/** A constant's value by selector; null: absent there (an OS `like` another lacks one of its values). */
type ValueMap = Record<string, number | null>;
interface RawTarget {
  os: string;
  arch: string;
  model: string;
  endian: 'little' | 'big';
  libc: string;
  verify: string | null;
  stdcall?: boolean;
  kqueue?: string;
  koffi?: 'prebuild' | 'source' | 'none';
  backends?: string[];
}
/** A text that is the same for every target, or a selector map (the most specific key wins). */
type PerTarget = string | Record<string, string>;
interface RawRequirement {
  functions: string[];
  constants: string[];
  structs: string[];
  optional?: string[];
}
interface RawStruct {
  c?: string;
  header: string;
  on?: string[];
  packed?: string[];
  pack?: Record<string, number>;
  fields?: string[];
  variants?: Record<string, string[]>;
}
interface RawFunction {
  proto: PerTarget;
  symbol?: PerTarget;
  lib: string;
  on: string[];
  errors: string;
  blocking?: boolean;
  hot?: boolean;
  optional?: boolean;
  doc: string;
}
interface Raw {
  version: number;
  models: Record<string, DataModel>;
  backends: Record<string, string>;
  oses: Record<string, { backends: string[]; net: string; like?: string; probe?: string[] }>;
  requires: Partial<Record<string, RawRequirement>>;
  targets: Record<string, RawTarget>;
  groups: Record<string, string[]>;
  libraries: Record<string, Record<string, string[]>>;
  types: Record<string, Record<string, string>>;
  constants: Record<string, { header: string; values: Record<string, ValueMap> }>;
  decls?: Record<string, string>;
  structs: Record<string, RawStruct>;
  functions: Record<string, RawFunction>;
}

/** Loads and resolves a spec file; throws SpecError listing every problem with its line. */
export function loadSpec(path: string): Spec {
  // Messages name the file as the user would type it: relative to where the command runs.
  const shown = relative(process.cwd(), path);
  return parseSpec(readFileSync(path, 'utf8'), shown.startsWith('..') || isAbsolute(shown) ? path : shown);
}

export function parseSpec(text: string, file = 'syscalls.yaml'): Spec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const at = (path: (string | number)[]): string => {
    for (let p = path; p.length >= 0; p = p.slice(0, -1)) {
      const node = p.length ? doc.getIn(p, true) : doc.contents;
      if (isNode(node) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return `${file}:${line}:${col}`;
      }
      if (!p.length) break;
    }
    return file;
  };
  if (doc.errors.length) {
    throw new SpecError(
      doc.errors.map((e) => `${file}:${e.linePos?.[0].line ?? '?'}:${e.linePos?.[0].col ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  const raw = doc.toJS() as Raw;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  if (!validate(raw)) {
    throw new SpecError(
      (validate.errors ?? []).map((e) => {
        const path = e.instancePath
          .split('/')
          .slice(1)
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
        const allowed = e.params && 'allowedValues' in e.params ? `: ${(e.params.allowedValues as unknown[]).join(', ')}` : '';
        return `${at(path)}: ${e.instancePath || '/'} ${e.message}${allowed}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`;
      }),
    );
  }
  return resolve(raw, at);
}

// ---- resolution -------------------------------------------------------------------------------

type Path = (string | number)[];
const SOCKET_APIS = new Set(['bsd', 'winsock']);

/** Resolves a schema-valid spec into one model per target; every problem found (with its line) goes into one SpecError. */
function resolve(raw: Raw, at: (p: Path) => string): Spec {
  const r = new Resolver(raw, at);
  r.checkReferences();
  const models = r.targets.map((t) => new TargetResolver(r, t).model());
  r.checkCompleteness(models);
  if (r.problems.length) throw new SpecError([...new Set(r.problems)]);
  return { targets: r.targets, models, oses: [...r.oses], backends: [...r.backends] };
}

/** What holds across targets: the OS, backend and target lists, selectors and their ranks, cross-references. */
class Resolver {
  readonly problems: string[] = [];
  /** The one list of operating systems. */
  readonly oses: Set<string>;
  /** The one list of backends: every OS's and target's `backends`, and every requirement, name them. */
  readonly backends: Set<string>;
  readonly targets: Target[];
  readonly targetNames: Set<string>;
  /** Every constant's group, by name. */
  readonly constantGroups = new Map<string, string>();

  constructor(
    readonly raw: Raw,
    readonly at: (p: Path) => string,
  ) {
    this.oses = new Set(Object.keys(raw.oses));
    this.backends = new Set(Object.keys(raw.backends));
    this.checkBackendNames();
    this.targets = Object.entries(raw.targets).map(([name, t]) => this.target(name, t));
    this.targetNames = new Set(this.targets.map((t) => t.name));
    this.checkGroups();
  }

  private knownBackends(names: readonly string[], path: Path): void {
    names.forEach((b, i) => {
      if (!this.backends.has(b))
        this.problems.push(
          `${this.at([...path, i])}: unknown backend '${b}' (the backends are the keys of 'backends:': ${[...this.backends].join(', ')})`,
        );
    });
  }

  private checkBackendNames(): void {
    const { raw, at } = this;
    for (const [os, o] of Object.entries(raw.oses)) {
      if (o.like !== undefined && (!this.oses.has(o.like) || raw.oses[o.like]!.like !== undefined))
        this.problems.push(`${at(['oses', os, 'like'])}: '${o.like}' is not an OS of oses: without a like of its own`);
      this.knownBackends(o.backends, ['oses', os, 'backends']);
    }
    for (const [name, t] of Object.entries(raw.targets)) if (t.backends) this.knownBackends(t.backends, ['targets', name, 'backends']);
    for (const k of Object.keys(raw.requires))
      if (!this.backends.has(k) && !SOCKET_APIS.has(k))
        this.problems.push(`${at(['requires', k])}: '${k}' is neither a backend (backends:) nor a socket API (bsd, winsock)`);
  }

  private target(name: string, t: RawTarget): Target {
    const { raw, at } = this;
    const model = raw.models[t.model];
    if (!model) this.problems.push(`${at(['targets', name, 'model'])}: unknown data model '${t.model}'`);
    const os = raw.oses[t.os];
    if (!os)
      this.problems.push(
        `${at(['targets', name, 'os'])}: unknown OS '${t.os}' for target ${name} (the OSes are the keys of 'oses:': ${[...this.oses].join(', ')})`,
      );
    else if (t.verify && !os.probe && !(os.like && raw.oses[os.like]?.probe))
      this.problems.push(
        `${at(['targets', name, 'verify'])}: target ${name} names a compiler but oses.${t.os} has no probe: prelude (the headers its layout probe includes)`,
      );
    return {
      name,
      os: t.os,
      arch: t.arch,
      model: model ?? raw.models[Object.keys(raw.models)[0]!]!,
      modelName: t.model,
      endian: t.endian,
      libc: t.libc,
      verify: t.verify,
      stdcall: t.stdcall ?? false,
      kqueue: t.kqueue ?? null,
      koffi: t.koffi ?? 'prebuild',
      backends: t.backends ?? os?.backends ?? [],
      net: os?.net ?? 'bsd',
      probe: os?.probe ?? (os?.like ? raw.oses[os.like]?.probe : undefined) ?? [],
      like: os?.like ?? null,
    };
  }

  private checkGroups(): void {
    for (const [g, members] of Object.entries(this.raw.groups)) {
      if (this.oses.has(g) || this.targetNames.has(g))
        this.problems.push(`${this.at(['groups', g])}: group '${g}' shadows an OS or target name`);
      members.forEach((m, i) => {
        if (!this.oses.has(m) && !this.targetNames.has(m))
          this.problems.push(`${this.at(['groups', g, i])}: unknown OS or target '${m}' in group '${g}'`);
      });
    }
  }

  /** Rank with which `sel` matches `t`: 3 exact target, 2 OS, 1.5 the OS it is `like`, 1 group, 0 none; -1 unknown selector. */
  rank(sel: string, t: Target): number {
    if (this.targetNames.has(sel)) return sel === t.name ? 3 : 0;
    const like = this.raw.oses[t.os]?.like;
    if (this.oses.has(sel)) return sel === t.os ? 2 : sel === like ? 1.5 : 0;
    const g = this.raw.groups[sel];
    if (!g) return -1;
    return g.includes(t.name) || g.includes(t.os) || (like !== undefined && g.includes(like)) ? 1 : 0;
  }

  /** The key of `map` that applies to `t`, or undefined; reports ambiguity. */
  pick(keys: string[], t: Target, path: Path): string | undefined {
    let best: string | undefined;
    let bestRank = 0;
    let tie = false;
    for (const k of keys) {
      const r = this.rank(k, t);
      if (r > bestRank) {
        best = k;
        bestRank = r;
        tie = false;
      } else if (r === bestRank && r > 0) tie = true;
    }
    if (tie) this.problems.push(`${this.at(path)}: ambiguous for ${t.name}: two selectors of the same rank match`);
    return best;
  }

  matches(sels: string[], t: Target): boolean {
    return sels.some((s) => this.rank(s, t) > 0);
  }

  private checkSelectors(sels: string[], path: Path): void {
    for (const s of sels)
      if (this.targets.length && this.rank(s, this.targets[0]!) < 0)
        this.problems.push(`${this.at([...path, s])}: unknown selector '${s}' (not a target, OS or group)`);
  }

  /** Every selector used anywhere, once; struct shapes; libraries named by functions; duplicate names. */
  checkReferences(): void {
    const { raw, at } = this;
    this.checkSelectors(
      Object.keys(raw.libraries).flatMap((l) => Object.keys(raw.libraries[l]!)),
      ['libraries'],
    );
    for (const [ty, m] of Object.entries(raw.types)) this.checkSelectors(Object.keys(m), ['types', ty]);
    for (const [g, grp] of Object.entries(raw.constants))
      for (const [c, m] of Object.entries(grp.values)) this.checkSelectors(Object.keys(m), ['constants', g, 'values', c]);
    for (const [s, st] of Object.entries(raw.structs)) {
      this.checkSelectors([...(st.on ?? []), ...(st.packed ?? [])], ['structs', s]);
      if (st.pack) this.checkSelectors(Object.keys(st.pack), ['structs', s, 'pack']);
      if (st.variants) this.checkSelectors(Object.keys(st.variants), ['structs', s, 'variants']);
      if (!st.fields === !st.variants)
        this.problems.push(`${at(['structs', s])}: struct '${s}' needs exactly one of 'fields' or 'variants'`);
      if (st.fields && !st.on) this.problems.push(`${at(['structs', s])}: struct '${s}' with 'fields' needs 'on'`);
    }
    for (const [f, fn] of Object.entries(raw.functions)) {
      this.checkSelectors(fn.on, ['functions', f, 'on']);
      for (const k of ['proto', 'symbol'] as const) {
        const v = fn[k];
        if (v && typeof v === 'object') this.checkSelectors(Object.keys(v), ['functions', f, k]);
      }
      if (!raw.libraries[fn.lib]) this.problems.push(`${at(['functions', f, 'lib'])}: unknown library '${fn.lib}'`);
    }
    const seen = this.constantGroups;
    for (const [g, grp] of Object.entries(raw.constants)) {
      for (const c of Object.keys(grp.values)) {
        if (seen.has(c))
          this.problems.push(`${at(['constants', g, 'values', c])}: duplicate constant '${c}' (also in group '${seen.get(c)}')`);
        seen.set(c, g);
      }
    }
    for (const name of Object.keys(raw.functions))
      if (seen.has(name)) this.problems.push(`${at(['functions', name])}: '${name}' is both a function and a constant`);
  }

  /**
   * Every struct must have a layout on some target; every name a requirement lists must exist, and every
   * target must have what its backends and socket API take (refusing now beats an empty or partial
   * module that fails at run time).
   */
  checkCompleteness(models: TargetModel[]): void {
    const { raw, at } = this;
    for (const name of Object.keys(raw.structs)) {
      if (!models.some((m) => m.structs.some((s) => s.name === name)))
        this.problems.push(`${at(['structs', name])}: struct '${name}' has no layout for any target`);
    }
    const known = new Set([...Object.keys(raw.functions), ...Object.keys(raw.structs), ...this.constantGroups.keys()]);
    for (const [k, req] of Object.entries(raw.requires)) {
      for (const kind of ['functions', 'constants', 'structs', 'optional'] as const) {
        (req![kind] ?? []).forEach((n, i) => {
          if (!known.has(n))
            this.problems.push(`${at(['requires', k, kind, i])}: '${n}' is not a function, constant or struct of this file`);
        });
      }
    }
    for (const m of models) {
      const t = m.target;
      const have = {
        functions: new Set(m.functions.map((f) => f.name)),
        constants: new Set(m.constants.map((c) => c.name)),
        structs: new Set(m.structs.map((x) => x.name)),
      };
      for (const need of [...t.backends, t.net]) {
        const req = raw.requires[need];
        if (!req) continue;
        const lacks = (['functions', 'constants', 'structs'] as const)
          .map((kind) => [kind, req[kind].filter((n) => !have[kind].has(n))] as const)
          .filter(([, xs]) => xs.length);
        if (lacks.length)
          this.problems.push(
            `${at(['targets', t.name])}: target ${t.name} lacks what ${need} needs (requires.${need}): ${lacks.map(([kind, xs]) => `${kind} ${xs.join(', ')}`).join('; ')}`,
          );
      }
    }
  }
}

/** One target's model: its libraries, constants, struct layouts and function prototypes. */
class TargetResolver {
  /** Names whose value came from an OS this one is `like` or from a group, not from the target or its OS. */
  private readonly inherited = new Set<string>();
  private readonly layouts = new Map<string, StructLayout | null>();
  private readonly problems: string[];
  private readonly raw: Raw;
  private readonly at: (p: Path) => string;

  constructor(
    private readonly r: Resolver,
    private readonly t: Target,
  ) {
    this.problems = r.problems;
    this.raw = r.raw;
    this.at = r.at;
  }

  model(): TargetModel {
    const { raw, t } = this;
    const libraries = this.libraries();
    const constants = this.constants();
    const structs = Object.keys(raw.structs)
      .map((name) => this.layoutOf(name, []))
      .filter((l): l is StructLayout => l !== null);
    const functions = this.functions(libraries);
    const decl = raw.decls ? this.r.pick(Object.keys(raw.decls), t, ['decls']) : undefined;
    // What a compiler checks is not inherited on faith.
    const unchecked = t.verify ? [] : [...this.inherited].sort();
    return { target: t, libraries, constants, structs, functions, decls: decl ? raw.decls![decl]! : '', inherited: unchecked };
  }

  private typeOf(ctype: string, path: Path): { type: Primitive | string; count: number | null; pointer: boolean } | null {
    const { raw, at } = this;
    const parsed = parseCType(ctype);
    if (!parsed) {
      this.problems.push(`${at(path)}: cannot parse C type '${ctype}'`);
      return null;
    }
    if (parsed.pointer) return { type: 'pointer', count: parsed.count, pointer: true };
    const sname = parsed.base.replace(/^struct /, '');
    if (raw.structs[sname]) return { type: sname, count: parsed.count, pointer: false };
    const m = raw.types[parsed.base];
    if (!m) {
      this.problems.push(`${at(path)}: unknown type '${parsed.base}'`);
      return null;
    }
    const key = this.r.pick(Object.keys(m), this.t, ['types', parsed.base]);
    if (!key) {
      this.problems.push(`${at(path)}: type '${parsed.base}' has no definition for ${this.t.name}`);
      return null;
    }
    const inner = parseCType(m[key]!);
    if (!inner || !(PRIMITIVES as string[]).includes(inner.base)) {
      this.problems.push(`${at(['types', parsed.base, key])}: '${m[key]}' is not a primitive`);
      return null;
    }
    if (inner.count !== null && parsed.count !== null) {
      this.problems.push(`${at(path)}: arrays of array typedefs are not supported`);
      return null;
    }
    return { type: inner.base as Primitive, count: parsed.count ?? inner.count, pointer: false };
  }

  private libraries(): Record<string, string[]> {
    const libraries: Record<string, string[]> = {};
    for (const [lib, m] of Object.entries(this.raw.libraries)) {
      const k = this.r.pick(Object.keys(m), this.t, ['libraries', lib]);
      if (k) libraries[lib] = m[k]!;
    }
    return libraries;
  }

  private constants(): ConstantSpec[] {
    const constants: ConstantSpec[] = [];
    for (const [g, grp] of Object.entries(this.raw.constants)) {
      for (const [c, m] of Object.entries(grp.values)) {
        const k = this.r.pick(Object.keys(m), this.t, ['constants', g, 'values', c]);
        if (k !== undefined && m[k] !== null) {
          constants.push({ name: c, value: m[k]!, group: g, header: grp.header });
          if (this.r.rank(k, this.t) === 1) this.inherited.add(c);
        }
      }
    }
    return constants;
  }

  /** The fields a struct has on this target (its `fields` where `on` matches, else the variant that applies), or null. */
  private fieldsOf(name: string): { list: string[]; path: Path } | null {
    const { r, t } = this;
    const st = this.raw.structs[name]!;
    if (st.fields) {
      if (!r.matches(st.on ?? [], t)) return null;
      if (!(st.on ?? []).some((x) => r.rank(x, t) > 1)) this.inherited.add(name);
      return { list: st.fields, path: ['structs', name, 'fields'] };
    }
    const k = r.pick(Object.keys(st.variants!), t, ['structs', name, 'variants']);
    if (!k) return null;
    if (r.rank(k, t) === 1) this.inherited.add(name);
    return { list: st.variants![k]!, path: ['structs', name, 'variants', k] };
  }

  private layoutOf(name: string, stack: string[]): StructLayout | null {
    const { r, t, at } = this;
    if (this.layouts.has(name)) return this.layouts.get(name)!;
    if (stack.includes(name)) {
      this.problems.push(`${at(['structs', name])}: struct '${name}' contains itself`);
      return null;
    }
    const st = this.raw.structs[name]!;
    const fieldList = this.fieldsOf(name);
    if (!fieldList) {
      this.layouts.set(name, null);
      return null;
    }
    const { path } = fieldList;
    const packed = r.matches(st.packed ?? [], t);
    // `#pragma pack(N)`: no field aligned beyond N (macOS's struct kevent is pack(4)).
    const packKey = st.pack ? r.pick(Object.keys(st.pack), t, ['structs', name, 'pack']) : undefined;
    const packMax = packKey === undefined ? Infinity : st.pack![packKey]!;
    const fields: FieldLayout[] = [];
    let offset = 0;
    let align = 1;
    const names = new Set<string>();
    fieldList.list.forEach((spec, i) => {
      const m = /^\s*([A-Za-z_]\w*)\s+(.+?)\s*$/.exec(spec);
      if (!m) {
        this.problems.push(`${at([...path, i])}: field '${spec}' is not "name type"`);
        return;
      }
      const [, fname, ctype] = m as unknown as [string, string, string];
      if (names.has(fname)) this.problems.push(`${at([...path, i])}: duplicate field '${fname}' in '${name}'`);
      names.add(fname);
      const ty = this.typeOf(ctype, [...path, i]);
      if (!ty) return;
      let el: { size: number; align: number };
      if ((PRIMITIVES as string[]).includes(ty.type)) {
        if (ty.type === 'void') {
          this.problems.push(`${at([...path, i])}: field '${fname}' cannot be void`);
          return;
        }
        el = primitiveLayout(ty.type as Primitive, t.model);
      } else {
        const inner = this.layoutOf(ty.type, [...stack, name]);
        if (!inner) {
          this.problems.push(`${at([...path, i])}: struct '${ty.type}' has no layout for ${t.name}`);
          return;
        }
        el = inner;
      }
      const fa = packed ? 1 : Math.min(el.align, packMax);
      offset = alignUp(offset, fa);
      const size = el.size * (ty.count ?? 1);
      fields.push({ name: fname, ctype, type: ty.type, count: ty.count, offset, size, align: el.align });
      offset += size;
      align = Math.max(align, fa);
    });
    const layout: StructLayout = {
      name,
      c: st.c ?? `struct ${name}`,
      header: st.header,
      size: alignUp(offset, align),
      align,
      packed,
      fields,
    };
    this.layouts.set(name, layout);
    return layout;
  }

  /** A prototype or symbol that may differ by target (NetBSD: size_t nchanges, the versioned __kevent50). */
  private perTarget(name: string, v: PerTarget, key: 'proto' | 'symbol'): { text: string; path: Path } | null {
    if (typeof v === 'string') return { text: v, path: ['functions', name, key] };
    const k = this.r.pick(Object.keys(v), this.t, ['functions', name, key]);
    if (k === undefined) {
      this.problems.push(
        `${this.at(['functions', name, key])}: no ${key} for ${this.t.name} (none of ${Object.keys(v).join(', ')} matches it)`,
      );
      return null;
    }
    return { text: v[k]!, path: ['functions', name, key, k] };
  }

  private functions(libraries: Record<string, string[]>): FunctionSpec[] {
    const { t, at } = this;
    const functions: FunctionSpec[] = [];
    for (const [name, fn] of Object.entries(this.raw.functions)) {
      if (!this.r.matches(fn.on, t)) continue;
      const pr = this.perTarget(name, fn.proto, 'proto');
      const sy = fn.symbol === undefined ? { text: name, path: ['functions', name] } : this.perTarget(name, fn.symbol, 'symbol');
      if (!pr || !sy) continue;
      const path = pr.path;
      const proto = pr.text;
      const p = parsePrototype(proto);
      if (!p) {
        this.problems.push(`${at(path)}: cannot parse prototype '${proto}'`);
        continue;
      }
      const symbol = sy.text;
      if (p.name !== symbol) this.problems.push(`${at(path)}: prototype names '${p.name}', expected '${symbol}'`);
      const conv = (c: { name: string; ctype: string }): Param | null => {
        const ty = this.typeOf(c.ctype, path);
        if (!ty) return null;
        if (ty.count !== null || !(PRIMITIVES as string[]).includes(ty.type)) {
          this.problems.push(`${at(path)}: '${c.ctype}' must be passed by pointer`);
          return null;
        }
        return { name: c.name, ctype: c.ctype, type: ty.type as Primitive, pointer: ty.pointer };
      };
      const ret = conv({ name: '', ctype: p.ret });
      const params = p.params.map(conv);
      if (!ret || params.some((x) => !x)) continue;
      if (!libraries[fn.lib]) {
        this.problems.push(`${at(['functions', name, 'lib'])}: library '${fn.lib}' has no file for ${t.name}`);
        continue;
      }
      functions.push({
        name,
        symbol,
        lib: fn.lib,
        proto,
        ret,
        params: params as Param[],
        variadic: p.variadic,
        stdcall: p.stdcall && t.stdcall,
        errors: fn.errors,
        blocking: fn.blocking ?? false,
        hot: fn.hot ?? false,
        optional: fn.optional ?? false,
        doc: fn.doc,
      });
    }
    return functions;
  }
}

// ---- C type helpers ---------------------------------------------------------------------------

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function primitiveLayout(p: Primitive, m: DataModel): { size: number; align: number } {
  switch (p) {
    case 'void':
      return { size: 0, align: 1 };
    case 'int8':
    case 'uint8':
    case 'char':
      return { size: 1, align: 1 };
    case 'int16':
    case 'uint16':
    case 'short':
    case 'ushort':
      return { size: m.short, align: m.short };
    case 'int32':
    case 'uint32':
    case 'int':
    case 'uint':
      return { size: m.int, align: m.int };
    case 'long':
    case 'ulong':
      return { size: m.long, align: m.long === 8 ? m.int64_align : m.long };
    case 'int64':
    case 'uint64':
    case 'longlong':
    case 'ulonglong':
      return { size: 8, align: m.int64_align };
    case 'intptr':
    case 'uintptr':
    case 'pointer':
      return { size: m.pointer, align: m.pointer };
  }
}

/** Parses `const struct sockaddr *`, `char[14]`, `uint32[4]`, `unsigned long`. */
export function parseCType(s: string): { base: string; pointer: boolean; count: number | null } | null {
  let t = s.trim().replace(/\s+/g, ' ');
  let count: number | null = null;
  const arr = /^(.*?)\s*\[(\d+)\]$/.exec(t);
  if (arr) {
    t = arr[1]!;
    count = Number(arr[2]);
  }
  t = t.replace(/^const /, '').replace(/ const$/, '');
  let pointer = false;
  if (t.endsWith('*')) {
    pointer = true;
    t = t.replace(/\s*\*+$/, '').replace(/^const /, '');
  }
  if (!/^(struct |unsigned )?[A-Za-z_]\w*( long)?$/.test(t)) return null;
  return { base: t, pointer, count };
}

/** Parses a C prototype as headers spell it: `ssize_t read(int fd, void *buf, size_t count)`. */
export function parsePrototype(
  proto: string,
): { ret: string; name: string; stdcall: boolean; params: { name: string; ctype: string }[]; variadic: boolean } | null {
  const m = /^\s*(.+?)\s*\b([A-Za-z_]\w*)\s*\((.*)\)\s*$/.exec(proto);
  if (!m) return null;
  let ret = m[1]!;
  let stdcall = false;
  const cc = /\s*\b(WINAPI|NTAPI|WSAAPI)$/.exec(ret);
  if (cc) {
    stdcall = true;
    ret = ret.slice(0, cc.index);
  }
  const params: { name: string; ctype: string }[] = [];
  let variadic = false;
  const body = m[3]!.trim();
  if (body !== 'void' && body !== '') {
    for (const part of body.split(',').map((x) => x.trim())) {
      if (part === '...') {
        variadic = true;
        continue;
      }
      const pm = /^(.*?[\s*])([A-Za-z_]\w*)$/.exec(part);
      if (!pm) return null;
      params.push({ name: pm[2]!, ctype: pm[1]!.trim() });
    }
  }
  return { ret: ret.trim(), name: m[2]!, stdcall, params, variadic };
}
