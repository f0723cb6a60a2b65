// Plain-jsonnet Grafana builders (Grafana 10/11, schemaVersion 39), in the spirit of grafonnet
// but small and with no dependency to fetch: the five panel types havip's dashboards use, the
// variables, and a grid that places panels left to right and wraps, so panels never overlap.
{
  schemaVersion:: 39,
  gridWidth:: 24,
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // A Prometheus query of a panel; tables ask for one instant value per series.
  target(expr, legend='', ref='A', table=false, exemplar=false):: {
    datasource: $.datasource,
    editorMode: 'code',
    exemplar: exemplar,
    expr: expr,
    format: if table then 'table' else 'time_series',
    instant: table,
    legendFormat: if legend == '' then '__auto' else legend,
    range: !table,
    refId: ref,
  },

  // Several [expr, legend] queries with refIds A, B, C...
  targets(queries, exemplarFirst=false):: [
    $.target(queries[i][0], queries[i][1], ref=std.char(65 + i), exemplar=exemplarFirst && i == 0)
    for i in std.range(0, std.length(queries) - 1)
  ],

  thresholds(steps):: {
    mode: 'absolute',
    steps: [{ color: step[0], value: step[1] } for step in steps],
  },

  // A value mapping: [[raw value, text, color], ...].
  valueMapping(entries):: [{
    options: {
      [entries[i][0]]: { color: entries[i][2], index: i, text: entries[i][1] }
      for i in std.range(0, std.length(entries) - 1)
    },
    type: 'value',
  }],

  panel(kind, title, description, queries):: {
    datasource: $.datasource,
    description: description,
    targets: queries,
    title: title,
    type: kind,
  },

  timeseries(title, description, queries, unit='short', bars=false, decimals=null)::
    $.panel('timeseries', title, description, queries) {
      fieldConfig: {
        defaults: {
          custom: {
            drawStyle: if bars then 'bars' else 'line',
            fillOpacity: if bars then 60 else 10,
            lineWidth: 1,
            showPoints: 'never',
            spanNulls: false,
          },
          unit: unit,
        } + (if decimals != null then { decimals: decimals } else {}),
        overrides: [],
      },
      options: {
        legend: { calcs: [], displayMode: 'list', placement: 'bottom', showLegend: true },
        tooltip: { mode: 'multi', sort: 'desc' },
      },
    },

  stat(title, description, queries, unit='none', steps=null, mappings=[], textMode='value')::
    $.panel('stat', title, description, queries) {
      fieldConfig: {
        defaults: {
          color: { mode: 'thresholds' },
          mappings: mappings,
          thresholds: if steps != null then steps else $.thresholds([['blue', null]]),
          unit: unit,
        },
        overrides: [],
      },
      options: {
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        textMode: textMode,
      },
    },

  stateTimeline(title, description, queries, mappings)::
    $.panel('state-timeline', title, description, queries) {
      fieldConfig: {
        defaults: {
          color: { mode: 'thresholds' },
          custom: { fillOpacity: 80, lineWidth: 0 },
          mappings: mappings,
          thresholds: $.thresholds([['text', null]]),
        },
        overrides: [],
      },
      options: {
        alignValue: 'left',
        legend: { displayMode: 'list', placement: 'bottom', showLegend: false },
        mergeValues: true,
        rowHeight: 0.9,
        showValue: 'auto',
        tooltip: { mode: 'single', sort: 'none' },
      },
    },

  table(title, description, queries, transformations, overrides)::
    $.panel('table', title, description, queries) {
      fieldConfig: {
        defaults: { custom: { align: 'auto', cellOptions: { type: 'auto' } } },
        overrides: overrides,
      },
      options: { cellHeight: 'sm', showHeader: true },
      transformations: transformations,
    },

  // properties: [[id, value], ...]
  fieldOverride(fieldName, properties):: {
    matcher: { id: 'byName', options: fieldName },
    properties: [{ id: p[0], value: p[1] } for p in properties],
  },

  // An `organize` transformation: drop the columns a reader has no use for, name the rest.
  hideAndRename(hidden, renamed={}):: {
    id: 'organize',
    options: { excludeByName: { [name]: true for name in hidden }, renameByName: renamed },
  },

  // --- the grid ---------------------------------------------------------------------------

  // Grid items: $.add(panel, w, h) and $.row(title), in reading order.
  add(panel, w=12, h=8)::
    assert w > 0 && w <= $.gridWidth : 'panel width %d outside 1..%d' % [w, $.gridWidth];
    { panel: panel, w: w, h: h },
  row(title):: { row: title },

  // Grafana's `panels`: each item placed left to right, wrapping to a new line when it does
  // not fit; a row header always starts a line of its own. Ids follow placement order.
  layout(items)::
    local newLine(s) = s { x: 0, y: s.y + s.lineHeight, lineHeight: 0 };
    local place(s, panel, w, h) = s {
      panels+: [panel { gridPos: { h: h, w: w, x: s.x, y: s.y }, id: std.length(s.panels) + 1 }],
      x: s.x + w,
      lineHeight: std.max(s.lineHeight, h),
    };
    local step(s, item) =
      if std.objectHas(item, 'row') then
        newLine(place(
          newLine(s),
          { collapsed: false, panels: [], title: item.row, type: 'row' },
          $.gridWidth,
          1
        ))
      else
        place(if s.x + item.w > $.gridWidth then newLine(s) else s, item.panel, item.w, item.h);
    std.foldl(step, items, { panels: [], x: 0, y: 0, lineHeight: 0 }).panels,

  // --- variables and the dashboard ---------------------------------------------------------

  datasourceVariable:: {
    current: {},
    hide: 0,
    includeAll: false,
    label: 'Prometheus',
    multi: false,
    name: 'datasource',
    options: [],
    query: 'prometheus',
    refresh: 1,
    regex: '',
    type: 'datasource',
  },

  // A variable filled from label_values(); multi-valued ones offer All, as a regex.
  queryVariable(name, label, query, multi):: {
    current: {},
    datasource: $.datasource,
    definition: query,
    hide: 0,
    includeAll: multi,
    label: label,
    multi: multi,
    name: name,
    options: [],
    query: { query: query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    regex: '',
    sort: 1,
    type: 'query',
  } + (if multi then { allValue: '.*' } else {}),

  dashboard(uid, title, description, items, variables, tags):: {
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }],
    },
    description: description,
    editable: false,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    links: [{
      asDropdown: false,
      icon: 'external link',
      includeVars: true,
      keepTime: true,
      tags: [tags[0]],
      targetBlank: false,
      title: tags[0],
      type: 'dashboards',
    }],
    liveNow: false,
    panels: $.layout(items),
    refresh: '30s',
    schemaVersion: $.schemaVersion,
    tags: tags,
    templating: { list: variables },
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: title,
    uid: uid,
    version: 1,
    weekStart: '',
  },
}
