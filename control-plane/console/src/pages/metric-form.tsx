/**
 * One metric definition, every type (shared/metrics/definition.ts): the form the catalog page
 * and the experiment editor share, with a filter builder over event and user properties, a
 * funnel steps builder, window and retention fields, and event names suggested from what
 * the stats service has seen (absent: "no event data yet", and free typing still works).
 */
import { useId } from "preact/hooks";
import { statsApi } from "../api.js";
import { Field, Select, useLoad } from "../components.js";
import type { FilterOperator, MetricFilter, MetricType } from "../../../../shared/metrics/definition.js";
import type { Metric } from "../types.js";

// biome-ignore lint/suspicious/noExplicitAny: loose on purpose, a form moves between the union's shapes one field at a time
type Draft = Record<string, any>;
type Selector = { eventType: string; filters?: MetricFilter[]; property?: string };

export const METRIC_TYPE_LABELS: ReadonlyArray<readonly [MetricType, string]> = [
  ["unique_conversions", "Conversion (did the unit do it)"],
  ["event_totals", "Event count per unit"],
  ["property_sum", "Sum of a property per unit"],
  ["property_average", "Average of a property per unit"],
  ["ratio", "Ratio of two sums (delta method)"],
  ["funnel", "Funnel (steps in order)"],
  ["retention", "Retention (came back on a day)"],
];

const OPERATORS: ReadonlyArray<readonly [FilterOperator, string]> = [
  ["=", "is"],
  ["!=", "is not"],
  ["in", "is one of"],
  ["not_in", "is none of"],
  ["contains", "contains"],
  ["<", "<"],
  ["<=", "≤"],
  [">", ">"],
  [">=", "≥"],
  ["is_set", "is set"],
];
const NUMERIC_OPERATORS = new Set<FilterOperator>(["<", "<=", ">", ">="]);

export interface EventTypeInfo {
  eventType: string;
  count: number;
  properties: Array<{ name: string; count: number }>;
}

/** Event types of the last 30 days, from the stats service; empty when it has none or is not there yet. */
export function useEventTypes(project: string): EventTypeInfo[] {
  const state = useLoad(
    () =>
      // Inside the promise: without a stats URL statsApi throws at once, and that too means "no data".
      Promise.resolve()
        .then(() => statsApi.get<{ eventTypes: EventTypeInfo[] }>(`/projects/${project}/event-types?days=30`))
        .then((r) => r.eventTypes ?? [])
        .catch(() => []),
    [project],
  );
  return state.data ?? [];
}

/** One line saying what a metric measures. */
export function describeMetric(metric: Metric): string {
  const m = metric as Draft;
  const on = (s: Selector) => {
    const n = (s.filters ?? []).length;
    return `${s.eventType}${n ? ` (${n} filter${n === 1 ? "" : "s"})` : ""}`;
  };
  const [start, end] = [m["window"]?.startHours ?? 0, m["window"]?.endHours];
  const window =
    end === undefined
      ? start > 0
        ? `; from ${start} h after each unit's exposure`
        : ""
      : start > 0
        ? `; from ${start} to ${end} h after each unit's exposure`
        : `; in each unit's first ${end} h after exposure`;
  switch (metric.type) {
    case "ratio":
      return `ratio of ${on(m["numerator"])} to ${on(m["denominator"])}${window}`;
    case "funnel":
      return `funnel ${(m["steps"] as Selector[]).map(on).join(" → ")}${
        m["conversionWindowHours"] ? `, the last step within ${m["conversionWindowHours"]} h of the first` : ""
      }${window}`;
    case "retention":
      return `retention: ${on(m as Selector)} ${m["mode"] === "within" ? "within" : "on"} day ${m["day"]}`;
    default:
      return `${metric.type.replace(/_/g, " ")} of ${on(m as Selector)}${m["property"] ? `.${m["property"]}` : ""}${window}`;
  }
}

/** A new metric of `type`, keeping what carries over (key, name, description, direction, window, event). */
export function withType(metric: Metric, type: MetricType): Metric {
  const m = metric as Draft;
  const keep: Draft = { key: m["key"], type };
  for (const field of ["name", "description", "direction", "window"])
    if (m[field] !== undefined) keep[field] = m[field];
  const eventType: string = m["eventType"] ?? m["numerator"]?.eventType ?? m["steps"]?.[0]?.eventType ?? "";
  const filters: MetricFilter[] = m["filters"] ?? [];
  const shape: Draft =
    type === "ratio"
      ? { numerator: { eventType, filters }, denominator: { eventType: "", filters: [] } }
      : type === "funnel"
        ? {
            steps: [
              { eventType, filters },
              { eventType: "", filters: [] },
            ],
          }
        : type === "retention"
          ? { eventType, filters, day: 1, mode: "on_day" }
          : type === "property_sum" || type === "property_average"
            ? { eventType, filters, property: m["property"] ?? "revenue" }
            : { eventType, filters };
  return { ...keep, ...shape } as Metric;
}

/** What the filter's value input holds, as the API wants it: a list for in/not_in, numbers where numeric. */
function parseValue(op: FilterOperator, text: string): MetricFilter["value"] {
  const one = (raw: string): string | number | boolean => {
    const t = raw.trim();
    if (NUMERIC_OPERATORS.has(op)) return Number(t);
    if (op === "contains") return t;
    if (t === "true" || t === "false") return t === "true";
    return t !== "" && Number.isFinite(Number(t)) ? Number(t) : t;
  };
  if (op === "is_set") return undefined;
  if (op === "in" || op === "not_in")
    return text
      .split(",")
      .filter((v) => v.trim() !== "")
      .map(one);
  return one(text);
}
const valueText = (value: MetricFilter["value"]) =>
  value === undefined ? "" : Array.isArray(value) ? value.join(", ") : String(value);

function FilterBuilder({
  label,
  filters,
  properties,
  onChange,
}: {
  label: string;
  filters: MetricFilter[];
  properties: string[];
  onChange: (filters: MetricFilter[]) => void;
}) {
  const listId = useId();
  const set = (i: number, patch: Partial<MetricFilter>) => {
    const next = filters.map((f, j) => (j === i ? ({ ...f, ...patch } as MetricFilter) : f));
    const f = next[i]!;
    if (f.op === "is_set") delete f.value;
    onChange(next);
  };
  return (
    <fieldset class="filters">
      <legend>{label}</legend>
      <datalist id={listId}>
        {properties.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
      {filters.length === 0 && <p class="hint">No filter: every event of this type counts.</p>}
      {filters.map((filter, i) => (
        <div class="row filter-row" key={i}>
          <Select
            label={`${label} ${i + 1}: on`}
            value={filter.scope ?? "event"}
            options={
              [
                ["event", "event property"],
                ["user", "user property"],
              ] as const
            }
            onChange={(scope) => set(i, { scope })}
          />
          <Field
            label={`${label} ${i + 1}: property`}
            list={listId}
            value={filter.property}
            required
            onInput={(e) => set(i, { property: e.currentTarget.value })}
          />
          <Select
            label={`${label} ${i + 1}: operator`}
            value={filter.op}
            options={OPERATORS}
            onChange={(op) => set(i, { op, value: parseValue(op, valueText(filter.value)) } as Partial<MetricFilter>)}
          />
          {filter.op !== "is_set" && (
            <Field
              label={`${label} ${i + 1}: value`}
              hint={filter.op === "in" || filter.op === "not_in" ? "Comma-separated" : undefined}
              type={NUMERIC_OPERATORS.has(filter.op) ? "number" : "text"}
              value={valueText(filter.value)}
              onInput={(e) => set(i, { value: parseValue(filter.op, e.currentTarget.value) })}
            />
          )}
          <button
            type="button"
            class="small danger"
            onClick={() => onChange(filters.filter((_, j) => j !== i))}
            aria-label={`Remove ${label.toLowerCase()} ${i + 1}`}
          >
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        class="small"
        onClick={() => onChange([...filters, { property: "", scope: "event", op: "=", value: "" }])}
      >
        Add filter
      </button>
    </fieldset>
  );
}

/** An event type (suggested from the stats service), its filters, and optionally a property. */
function EventSelectorFields({
  label,
  selector,
  events,
  withProperty,
  propertyRequired,
  onChange,
}: {
  label: string;
  selector: Selector;
  events: EventTypeInfo[];
  withProperty?: boolean;
  propertyRequired?: boolean;
  onChange: (selector: Selector) => void;
}) {
  const eventsId = useId();
  const propertiesId = useId();
  const properties = events.find((e) => e.eventType === selector.eventType)?.properties.map((p) => p.name) ?? [];
  return (
    <div class="event-selector">
      <datalist id={eventsId}>
        {events.map((e) => (
          <option key={e.eventType} value={e.eventType}>
            {e.count} events
          </option>
        ))}
      </datalist>
      <datalist id={propertiesId}>
        {properties.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
      <div class="row">
        <Field
          label={`${label}: event type`}
          hint={events.length === 0 ? "No event data yet: type the event's name" : "Seen in the last 30 days"}
          list={eventsId}
          value={selector.eventType}
          required
          onInput={(e) => onChange({ ...selector, eventType: e.currentTarget.value })}
        />
        {withProperty && (
          <Field
            label={`${label}: property`}
            hint={propertyRequired ? undefined : "Empty: count the events"}
            list={propertiesId}
            value={selector.property ?? ""}
            required={propertyRequired}
            onInput={(e) => {
              const { property, ...rest } = selector;
              onChange(e.currentTarget.value === "" ? rest : { ...rest, property: e.currentTarget.value });
            }}
          />
        )}
      </div>
      <FilterBuilder
        label={`${label} filter`}
        filters={selector.filters ?? []}
        properties={properties}
        onChange={(filters) => onChange({ ...selector, filters })}
      />
    </div>
  );
}

const numberOrUndefined = (text: string) => (text === "" ? undefined : Number(text));

/** Sets or removes (undefined or "") one field of the draft. */
function assign(metric: Metric, patch: Draft): Metric {
  const next: Draft = { ...metric, ...patch };
  for (const key of Object.keys(patch)) if (next[key] === undefined || next[key] === "") delete next[key];
  return next as Metric;
}

export function MetricForm({
  title,
  metric,
  events,
  keyLocked,
  onChange,
}: {
  title: string;
  metric: Metric;
  events: EventTypeInfo[];
  /** The key cannot change (a catalog entry's key is its address). */
  keyLocked?: boolean;
  onChange: (metric: Metric) => void;
}) {
  const m = metric as Draft;
  const set = (patch: Draft) => onChange(assign(metric, patch));
  const capped = metric.type === "event_totals" || metric.type === "property_sum" || metric.type === "property_average";
  const window = (m["window"] ?? {}) as { startHours?: number; endHours?: number };
  const setWindow = (patch: { startHours?: number | undefined; endHours?: number | undefined }) => {
    const next: Draft = { ...window, ...patch };
    for (const key of Object.keys(next)) if (next[key] === undefined) delete next[key];
    set({ window: Object.keys(next).length ? next : undefined });
  };
  const steps = (m["steps"] ?? []) as Selector[];
  return (
    <div class="metric-form" data-metric-form={metric.key}>
      <div class="row">
        <Field
          label={`${title}: key`}
          value={metric.key}
          required
          disabled={keyLocked}
          onInput={(e) => set({ key: e.currentTarget.value })}
        />
        <Field label={`${title}: name`} value={m["name"] ?? ""} onInput={(e) => set({ name: e.currentTarget.value })} />
        <Select
          label={`${title}: type`}
          value={metric.type}
          options={METRIC_TYPE_LABELS}
          onChange={(type) => onChange(withType(metric, type))}
        />
        <Select
          label={`${title}: better when it`}
          value={m["direction"] ?? "increase"}
          options={
            [
              ["increase", "increases"],
              ["decrease", "decreases"],
            ] as const
          }
          onChange={(direction) => set({ direction })}
        />
      </div>
      {metric.type === "ratio" ? (
        <>
          <EventSelectorFields
            label={`${title}: numerator`}
            selector={m["numerator"]}
            events={events}
            withProperty
            onChange={(numerator) => set({ numerator })}
          />
          <EventSelectorFields
            label={`${title}: denominator`}
            selector={m["denominator"]}
            events={events}
            withProperty
            onChange={(denominator) => set({ denominator })}
          />
        </>
      ) : metric.type === "funnel" ? (
        <fieldset class="funnel-steps">
          <legend>Funnel steps (2–5, in order)</legend>
          {steps.map((step, i) => (
            <div key={i} class="funnel-step">
              <EventSelectorFields
                label={`${title}: step ${i + 1}`}
                selector={step}
                events={events}
                onChange={(s) => set({ steps: steps.map((old, j) => (j === i ? s : old)) })}
              />
              {steps.length > 2 && (
                <button
                  type="button"
                  class="small danger"
                  onClick={() => set({ steps: steps.filter((_, j) => j !== i) })}
                >
                  Remove step {i + 1}
                </button>
              )}
            </div>
          ))}
          {steps.length < 5 && (
            <button
              type="button"
              class="small"
              onClick={() => set({ steps: [...steps, { eventType: "", filters: [] }] })}
            >
              Add step
            </button>
          )}
          <Field
            label={`${title}: conversion window (hours)`}
            hint="The last step within this many hours of the first (default 168)"
            type="number"
            min={1}
            value={m["conversionWindowHours"] ?? ""}
            onInput={(e) => set({ conversionWindowHours: numberOrUndefined(e.currentTarget.value) })}
          />
        </fieldset>
      ) : (
        <EventSelectorFields
          label={title}
          selector={m as Selector}
          events={events}
          withProperty={metric.type === "property_sum" || metric.type === "property_average"}
          propertyRequired
          onChange={(s) => set({ eventType: s.eventType, filters: s.filters, property: s.property })}
        />
      )}
      {metric.type === "retention" && (
        <div class="row">
          <Field
            label={`${title}: day`}
            hint="Day 0 is the first 24 h after exposure"
            type="number"
            min={0}
            max={365}
            value={m["day"] ?? 1}
            onInput={(e) => set({ day: numberOrUndefined(e.currentTarget.value) })}
          />
          <Select
            label={`${title}: retained if active`}
            value={m["mode"] ?? "on_day"}
            options={
              [
                ["on_day", "on that day"],
                ["within", "on any day 1…day"],
              ] as const
            }
            onChange={(mode) => set({ mode })}
          />
        </div>
      )}
      <div class="row">
        <Field
          label={`${title}: window starts (hours after exposure)`}
          type="number"
          min={0}
          value={window.startHours ?? ""}
          onInput={(e) => setWindow({ startHours: numberOrUndefined(e.currentTarget.value) })}
        />
        <Field
          label={`${title}: window ends (hours after exposure)`}
          hint="Empty: until the analysis period ends"
          type="number"
          min={0}
          value={window.endHours ?? ""}
          onInput={(e) => setWindow({ endHours: numberOrUndefined(e.currentTarget.value) })}
        />
        {capped && (
          <Field
            label={`${title}: cap at percentile`}
            hint="Default 99; 100 turns capping off"
            type="number"
            min={90}
            max={100}
            step={0.1}
            value={m["capPercentile"] === undefined ? "" : m["capPercentile"] * 100}
            onInput={(e) =>
              set({ capPercentile: e.currentTarget.value === "" ? undefined : Number(e.currentTarget.value) / 100 })
            }
          />
        )}
        {capped && (
          <Field
            label={`${title}: or cap at value`}
            type="number"
            min={0}
            value={m["capValue"] ?? ""}
            onInput={(e) => set({ capValue: numberOrUndefined(e.currentTarget.value) })}
          />
        )}
      </div>
    </div>
  );
}
