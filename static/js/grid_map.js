// The grid map: micro grids shaded by call density, units, patrol geography. Leaflet is vendored
// (static/vendor/leaflet); base tiles only when MAP_TILE_URL is set, otherwise a blank background.
(function () {
  "use strict";
  var el = document.getElementById("grid-map");
  if (!el || !window.L) { return; }
  var label = function (k) { return el.dataset["label" + k] || k; };
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.25 });
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
  }
  var ramp = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"];
  function colour(n, max) {
    if (!n || !max) { return ramp[0]; }
    return ramp[Math.min(ramp.length - 1, 1 + Math.floor((ramp.length - 1) * Math.sqrt(n / max) - 1e-9))];
  }
  function esc(s) { var d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }

  // Everything drawn goes in one layer group, redrawn when the live channel says the figures changed
  // (an htmx "refresh" event on the map element, app.js); the view is fitted once.
  var drawn = L.layerGroup().addTo(map);
  var legend = null;
  var fitted = false;
  function load() {
    fetch(el.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(draw);
  }
  el.addEventListener("refresh", load);
  load();

  function draw(data) {
    var status = document.getElementById("map-status");
    drawn.clearLayers();
    if (legend) { legend.remove(); }
    var grids = L.geoJSON(data.grids, {
      style: function (f) {
        var p = f.properties;
        return { weight: p.hot ? 2.5 : 0.6, color: p.hot ? "#b3261e" : "#7a8599", fillOpacity: 0.75,
                 fillColor: colour(p.calls, data.max_calls) };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindTooltip(esc(p.code) + " " + esc(p.name) + "<br>" + p.calls + " " + esc(label("Calls")) +
                          (p.hot ? "<br>" + esc(label("Hot")) : ""));
      }
    }).addTo(drawn);
    // The view must be set before anything else is drawn on the canvas renderer.
    if (grids.getLayers().length) {
      if (!fitted) { map.fitBounds(grids.getBounds(), { padding: [10, 10] }); }
    } else if (!fitted) {
      map.setView([25.27, 110.29], 13);
      status.textContent = label("None");
    }
    fitted = true;
    data.areas.forEach(function (a) {
      L.geoJSON(a.geometry, { style: { color: a.kind === "core" ? "#b26a00" : "#5b2ca0", weight: 1.5,
                                       dashArray: "4 3", fill: false } }).bindTooltip(esc(a.name)).addTo(drawn);
    });
    data.lines.forEach(function (l) {
      L.geoJSON(l.geometry, { style: { color: "#1e7d3c", weight: 2 } }).bindTooltip(esc(l.name)).addTo(drawn);
    });
    data.points.forEach(function (p) {
      L.circleMarker([p.lat, p.lon], { radius: 4, color: "#1e7d3c", fillColor: "#fff", fillOpacity: 1, weight: 2 })
        .bindTooltip(esc(p.name) + " · " + esc(label("Point"))).addTo(drawn);
    });
    data.units.forEach(function (u) {
      var fill = !u.available ? "#8a8f99" : (u.busy ? "#b3261e" : "#1f5fbf");
      var state = !u.available ? label("Off") : (u.busy ? label("Busy") : label("Available"));
      L.circleMarker([u.lat, u.lon], { radius: u.kind === "patrol" ? 7 : 9, color: "#fff", weight: 2,
                                       fillColor: fill, fillOpacity: 1, className: "unit-marker" })
        .bindTooltip(esc(u.name) + " · " + esc(state)).addTo(drawn);
    });
    legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "map-legend");
      var max = data.max_calls || 0, html = "";
      [0, 0.25, 0.5, 1].forEach(function (q) {
        var n = Math.round(max * q);
        html += "<div><i style='background:" + colour(n, max) + "'></i>" + n + " " + esc(label("Calls")) + "</div>";
      });
      div.innerHTML = html;
      return div;
    };
    legend.addTo(map);
    el.dataset.ready = String(grids.getLayers().length);
    el.dataset.loads = String(Number(el.dataset.loads || 0) + 1);
  }
})();
