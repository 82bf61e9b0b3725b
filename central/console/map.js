// A small SVG map: Web Mercator, pan with the mouse, zoom with the wheel or buttons.
// Draws site GeoJSON (nodes, controlled areas, stop zones, corridors with their buffer),
// gates, units in transit, response units and alerts. No tiles, nothing fetched from outside.

const NS = "http://www.w3.org/2000/svg";
const WORLD = 256; // map units across the whole world
const METRES_AT_EQUATOR = 40075016.686;

export function project(lon, lat) {
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return [((lon + 180) / 360) * WORLD, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * WORLD];
}

function node(tag, attrs = {}) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}

export class CorridorMap {
  constructor(svg) {
    this.svg = svg;
    this.view = { x: 0, y: 0, w: WORLD, h: WORLD };
    this.layers = {};
    for (const name of ["sites", "gates", "rrus", "units", "alerts"]) {
      this.layers[name] = node("g", { class: `layer-${name}` });
      svg.append(this.layers[name]);
    }
    this.markers = { units: new Map(), rrus: new Map(), alerts: new Map(), gates: new Map() };
    this.touched = false; // the user moved the map: stop fitting automatically
    this.onSelect = () => {};
    this._wire();
    this._apply();
  }

  _wire() {
    let drag = null;
    this.svg.addEventListener("mousedown", (e) => {
      drag = { x: e.clientX, y: e.clientY, view: { ...this.view } };
    });
    window.addEventListener("mouseup", () => (drag = null));
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      const k = this.view.w / this.svg.clientWidth;
      this.view.x = drag.view.x - (e.clientX - drag.x) * k;
      this.view.y = drag.view.y - (e.clientY - drag.y) * k;
      this.touched = true;
      this._apply();
    });
    this.svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const rect = this.svg.getBoundingClientRect();
      const fx = (e.clientX - rect.left) / rect.width;
      const fy = (e.clientY - rect.top) / rect.height;
      this.zoom(e.deltaY < 0 ? 1 / 1.3 : 1.3, fx, fy);
    });
    new ResizeObserver(() => this._apply()).observe(this.svg);
  }

  zoom(factor, fx = 0.5, fy = 0.5) {
    const v = this.view;
    const w = v.w * factor;
    const h = v.h * factor;
    this.view = { x: v.x + (v.w - w) * fx, y: v.y + (v.h - h) * fy, w, h };
    this.touched = true;
    this._apply();
  }

  fit(points, minSpanDeg = 0.01) {
    if (!points.length) return;
    const xy = points.map(([lon, lat]) => project(lon, lat));
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [x, y] of xy) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    const min = (minSpanDeg / 360) * WORLD;
    const w = Math.max(x1 - x0, min) * 1.2;
    const h = Math.max(y1 - y0, min) * 1.2;
    this.view = { x: (x0 + x1) / 2 - w / 2, y: (y0 + y1) / 2 - h / 2, w, h };
    this._apply();
  }

  _apply() {
    const { clientWidth: cw, clientHeight: ch } = this.svg;
    if (cw && ch) {
      // keep the aspect of the element: widen the view where needed
      const aspect = cw / ch;
      const v = this.view;
      if (v.w / v.h < aspect) {
        const w = v.h * aspect;
        v.x -= (w - v.w) / 2;
        v.w = w;
      } else {
        const h = v.w / aspect;
        v.y -= (h - v.h) / 2;
        v.h = h;
      }
    }
    const v = this.view;
    this.svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
    this.unit = v.w / Math.max(1, this.svg.clientWidth); // map units per pixel
    for (const group of Object.values(this.markers)) for (const m of group.values()) this._size(m);
  }

  _size(marker) {
    const r = (marker.dataset.px || 6) * this.unit;
    const shape = marker.firstChild;
    if (shape.tagName === "circle") shape.setAttribute("r", r);
    else if (shape.tagName === "rect") {
      shape.setAttribute("width", 2 * r);
      shape.setAttribute("height", 2 * r);
      shape.setAttribute("x", -r);
      shape.setAttribute("y", -r);
    }
    const label = marker.querySelector("text");
    if (label) {
      label.setAttribute("font-size", 11 * this.unit);
      label.setAttribute("x", r * 1.4);
      label.setAttribute("y", r * 0.5);
    }
  }

  drawSite(collection) {
    const g = node("g");
    for (const f of collection.features || []) {
      const p = f.properties || {};
      const kind = p.kind || "geofence";
      const geometry = f.geometry || {};
      const title = node("title");
      title.textContent = `${p.name || f.id || ""} (${kind})`;
      if (geometry.type === "LineString") {
        const pts = geometry.coordinates.map(([lon, lat]) => project(lon, lat).join(",")).join(" ");
        const lat = geometry.coordinates[0][1];
        const width = ((2 * (p.buffer_m || 50)) / (METRES_AT_EQUATOR * Math.cos((lat * Math.PI) / 180))) * WORLD;
        g.append(node("polyline", { points: pts, class: "corridor-buffer", "stroke-width": width }));
        const line = node("polyline", { points: pts, class: "corridor" });
        line.append(title);
        g.append(line);
      } else if (geometry.type === "Polygon" || geometry.type === "MultiPolygon") {
        const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
        const d = polygons
          .flatMap((rings) => rings.map((ring) => "M" + ring.map(([lon, lat]) => project(lon, lat).join(",")).join("L") + "Z"))
          .join("");
        const path = node("path", { d, class: `fence fence-${kind}` });
        path.append(title);
        g.append(path);
      }
    }
    this.layers.sites.append(g);
    return collection.features.flatMap((f) => coordinatesOf(f.geometry));
  }

  _marker(group, id, lon, lat, { shape = "circle", cls = "", px = 6, label = "", title = "", data = {} } = {}) {
    let m = this.markers[group].get(id);
    if (!m) {
      m = node("g", { class: `marker ${group}` });
      m.append(node(shape));
      if (label !== null) m.append(node("text"));
      m.append(node("title"));
      m.addEventListener("click", (e) => {
        e.stopPropagation();
        this.onSelect(group, id);
      });
      this.markers[group].set(id, m);
      this.layers[group].append(m);
    }
    const [x, y] = project(lon, lat);
    m.setAttribute("transform", `translate(${x},${y})`);
    m.setAttribute("class", `marker ${group} ${cls}`);
    m.dataset.px = px;
    m.dataset.id = id;
    m.dataset.lonlat = JSON.stringify([lon, lat]);
    for (const [k, v] of Object.entries(data)) m.dataset[k] = v;
    const text = m.querySelector("text");
    if (text) text.textContent = label;
    m.querySelector("title").textContent = title || label;
    this._size(m);
    return m;
  }

  unitAt(id, lon, lat, cls = "", title = "") {
    return this._marker("units", id, lon, lat, { cls, px: 5, label: id, title });
  }
  rruAt(id, lon, lat, cls = "", title = "") {
    return this._marker("rrus", id, lon, lat, { shape: "rect", cls, px: 5, label: id, title });
  }
  gateAt(id, lon, lat, cls = "", title = "") {
    return this._marker("gates", id, lon, lat, { shape: "rect", cls, px: 4, label: id, title });
  }
  alertAt(id, lon, lat, cls = "", title = "") {
    return this._marker("alerts", id, lon, lat, { cls, px: 11, label: null, title });
  }
  remove(group, id) {
    const m = this.markers[group].get(id);
    if (m) m.remove();
    this.markers[group].delete(id);
  }
  positions(group) {
    return [...this.markers[group].values()].map((m) => m.dataset.lonlat && JSON.parse(m.dataset.lonlat)).filter(Boolean);
  }
}

function coordinatesOf(geometry) {
  if (!geometry) return [];
  const c = geometry.coordinates;
  if (geometry.type === "Point") return [c];
  if (geometry.type === "LineString") return c;
  if (geometry.type === "Polygon") return c.flat();
  if (geometry.type === "MultiPolygon") return c.flat(2);
  return [];
}
