// Image Dynamics web player (hand-written, no dependencies). Plays the `oscillation` block of the page's data over its
// `image` block with WebGL2, the way the engine renders a frame (core/image_dynamics/frames.py):
//   1. inverse DFT on the motion grid               a_t(q) = sum_k g_k Re(S_k(q) (e^{2 pi i m_k t / L} - 1))
//   2. edge-aware (joint bilateral, 2x2 taps) upsampling of a_t to the display size, guided by the picture, beside
//      each pixel's splat weight
//   3. softmax splatting: every display pixel is drawn as a 2x2 point at its target with bilinear weights times
//      exp(beta W - max), W = mean over the loop of |a| (GID's splat weight), summed by additive float blending
//   4. normalisation and push-pull hole filling (a pyramid of masked 2x2 means, bilinear back into the holes).
// Conventions: pixels, origin top-left, x right, y down. Every texture row r holds picture row r (y down); only the
// last pass, onto the canvas, flips to WebGL's y-up window coordinates.
"use strict";
(function () {
  const FORMAT = "image-dynamics-web";
  const CONTAINER_VERSION = 1;
  const KNOWN_BLOCKS = { image: 1, oscillation: 1 };
  const MAX_BANDS = 64;
  const QUANT_LEVELS = 127;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const frameParam = params.get("frame");
  const benchParam = params.get("bench");
  const widthParam = params.get("width");
  const still = frameParam !== null || benchParam !== null;

  class DataError extends Error {}

  function setState(state) {
    document.body.dataset.state = state;
  }

  function showError(text) {
    const box = $("message");
    box.textContent = text;
    document.body.classList.add("error");
    $("view").style.display = "none";
    $("controls").hidden = true;
    document.title = "error";
    setState("error");
  }

  function notice(text) {
    const line = document.createElement("div");
    line.className = "notice";
    line.textContent = text;
    $("notices").appendChild(line);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Data

  function decodeBase64(text, what) {
    if (typeof text !== "string") throw new DataError(`${what}: 'data' must be a base64 string.`);
    let binary;
    try {
      binary = atob(text);
    } catch (e) {
      throw new DataError(`${what}: 'data' is not valid base64.`);
    }
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function need(cond, text) {
    if (!cond) throw new DataError(text);
  }

  const isPositiveInt = (v) => Number.isInteger(v) && v > 0;

  function readImageBlock(b) {
    need(b.mime === "image/png", `image block: mime must be "image/png", got ${JSON.stringify(b.mime)}.`);
    need(isPositiveInt(b.width) && isPositiveInt(b.height), "image block: width and height must be positive integers.");
    const bytes = decodeBase64(b.data, "image block");
    const signature = [137, 80, 78, 71, 13, 10, 26, 10];
    need(bytes.length > 8 && signature.every((v, i) => bytes[i] === v), "image block: 'data' is not a PNG file.");
    return { width: b.width, height: b.height, alpha: !!b.alpha, bytes };
  }

  function readOscillationBlock(b) {
    need(Array.isArray(b.grid) && b.grid.length === 2 && b.grid.every(isPositiveInt),
      "oscillation block: 'grid' must be [rows, columns].");
    const [h, w] = b.grid;
    const K = b.bands;
    need(Number.isInteger(K) && K >= 0 && K <= MAX_BANDS, `oscillation block: 'bands' must be 0 to ${MAX_BANDS}.`);
    need(typeof b.fps === "number" && b.fps > 0, "oscillation block: 'fps' must be a positive number.");
    need(Number.isInteger(b.loop_frames) && b.loop_frames >= 2, "oscillation block: 'loop_frames' must be >= 2.");
    need(b.y_axis === "down", "oscillation block: only y_axis \"down\" is known.");
    need(b.encoding === "int8-sqrt", `oscillation block: unknown encoding ${JSON.stringify(b.encoding)}.`);
    need(Array.isArray(b.harmonics) && b.harmonics.length === K && b.harmonics.every(isPositiveInt),
      "oscillation block: 'harmonics' must hold K positive integers.");
    need(Array.isArray(b.scales) && b.scales.length === K &&
      b.scales.every((s) => Array.isArray(s) && s.length === 4 && s.every((v) => typeof v === "number" && v >= 0)),
    "oscillation block: 'scales' must be K rows of 4 non-negative numbers.");
    const splat = b.splat || {};
    need(typeof splat.beta === "number" && isFinite(splat.beta), "oscillation block: 'splat.beta' must be a number.");
    need(Array.isArray(splat.weight_samples) && splat.weight_samples.length > 0 &&
      splat.weight_samples.every((v) => typeof v === "number"), "oscillation block: 'splat.weight_samples' missing.");
    const up = b.upsample || {};
    need(typeof up.sigma_color === "number" && up.sigma_color > 0 && up.radius === 1,
      "oscillation block: 'upsample' must give sigma_color > 0 and radius 1.");
    const bytes = decodeBase64(b.data, "oscillation block");
    need(bytes.length === K * h * w * 4,
      `oscillation block: 'data' holds ${bytes.length} bytes, expected K*h*w*4 = ${K * h * w * 4}.`);
    const q = new Int8Array(bytes.buffer, 0, bytes.length);
    const coeffs = new Float32Array(q.length); // [K, h, w, 4]: re x, im x, re y, im y
    for (let k = 0; k < K; k++) {
      const base = k * h * w * 4;
      const s = b.scales[k];
      for (let i = 0; i < h * w * 4; i += 4) {
        for (let c = 0; c < 4; c++) {
          const u = q[base + i + c] / QUANT_LEVELS;
          coeffs[base + i + c] = Math.sign(u) * u * u * s[c];
        }
      }
    }
    return {
      h, w, K, fps: b.fps, loop: b.loop_frames, harmonics: b.harmonics.slice(), coeffs,
      beta: splat.beta, samples: splat.weight_samples.slice(), sigma: up.sigma_color,
    };
  }

  function readDocument() {
    const el = $("image-dynamics-data");
    need(el, "the page has no data block (#image-dynamics-data).");
    let doc;
    try {
      doc = JSON.parse(el.textContent);
    } catch (e) {
      throw new DataError(`the data block is not valid JSON (${e.message}).`);
    }
    need(doc && typeof doc === "object" && doc.format === FORMAT, `the data block is not "${FORMAT}" data.`);
    need(Number.isInteger(doc.version), "the data block has no version.");
    need(doc.version <= CONTAINER_VERSION, `the data is format version ${doc.version}, newer than this player ` +
      `(version ${CONTAINER_VERSION}) reads.`);
    need(Array.isArray(doc.blocks), "the data block has no 'blocks' list.");
    const out = {};
    for (const block of doc.blocks) {
      const type = block && block.type;
      const known = KNOWN_BLOCKS[type];
      if (known === undefined || !(block.version <= known)) {
        const v = block && block.version !== undefined ? ` version ${block.version}` : "";
        notice(`This page holds a "${type}"${v} data block that this player does not know; it is ignored ` +
          "(made by a newer image-dynamics?).");
        continue;
      }
      if (out[type]) {
        notice(`A second "${type}" block is ignored.`);
        continue;
      }
      out[type] = type === "image" ? readImageBlock(block) : readOscillationBlock(block);
    }
    need(out.image, "the data has no image block.");
    need(out.oscillation, "the data has no oscillation (motion) block.");
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // WebGL helpers

  const VS_FULL = `#version 300 es
  void main() {
    vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
    gl_Position = vec4(p, 0.0, 1.0);
  }`;

  const HEAD = `#version 300 es
  precision highp float; precision highp int; precision highp sampler2D; precision highp sampler2DArray;
  `;

  // Tap rows/columns and tent weights of the upsampling (upsample.axis_taps, radius 1).
  const TAPS = `
  ivec2 taps(int x, int nOut, int nIn, out vec2 tent) {
    float u = (float(x) + 0.5) * (float(nIn) / float(nOut)) - 0.5;
    float c = floor(u);
    float f = u - c;
    tent = vec2(1.0 - f, f);
    int i0 = int(c);
    return ivec2(clamp(i0, 0, nIn - 1), clamp(i0 + 1, 0, nIn - 1));
  }`;

  function compile(gl, type, source) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
      throw new Error("shader did not compile: " + gl.getShaderInfoLog(shader));
    }
    return shader;
  }

  function program(gl, vsSource, fsSource) {
    const p = gl.createProgram();
    gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, vsSource));
    gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, fsSource));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error("shaders did not link: " + gl.getProgramInfoLog(p));
    const uniforms = {};
    const count = gl.getProgramParameter(p, gl.ACTIVE_UNIFORMS);
    for (let i = 0; i < count; i++) {
      const name = gl.getActiveUniform(p, i).name.replace(/\[0\]$/, "");
      uniforms[name] = gl.getUniformLocation(p, name);
    }
    return { p, u: uniforms };
  }

  function texture(gl, internal, format, type, w, h, data, filter) {
    const t = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texImage2D(gl.TEXTURE_2D, 0, internal, w, h, 0, format, type, data || null);
    const f = filter || gl.NEAREST;
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, f);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, f);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return { t, w, h };
  }

  function framebuffer(gl, textures) {
    const fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    textures.forEach((tex, i) => gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, gl.TEXTURE_2D,
      tex.t, 0));
    gl.drawBuffers(textures.map((_, i) => gl.COLOR_ATTACHMENT0 + i));
    const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
    if (status !== gl.FRAMEBUFFER_COMPLETE) throw new Error("a render target is not supported (status " + status + ")");
    return { fb, w: textures[0].w, h: textures[0].h, textures };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Shaders

  const FS_GUIDE = HEAD + `
  uniform sampler2D uImage; uniform ivec2 uSize; uniform bool uSame;
  out vec4 o;
  void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    o = uSame ? texelFetch(uImage, p, 0) : texture(uImage, (vec2(p) + 0.5) / vec2(uSize));
  }`;

  // Area average of the guide over each grid cell (cv2.INTER_AREA when shrinking); bilinear when the grid is finer.
  const FS_GUIDE_LO = HEAD + `
  uniform sampler2D uGuide; uniform ivec2 uSize; uniform ivec2 uGrid;
  out vec4 o;
  void main() {
    ivec2 c = ivec2(gl_FragCoord.xy);
    vec2 s = vec2(uSize) / vec2(uGrid);
    if (s.x < 1.0 || s.y < 1.0) { o = texture(uGuide, (vec2(c) + 0.5) / vec2(uGrid)); return; }
    vec2 a = vec2(c) * s, b = (vec2(c) + 1.0) * s;
    vec4 sum = vec4(0.0);
    for (int y = int(floor(a.y)); float(y) < b.y && y < uSize.y; y++) {
      float wy = min(float(y) + 1.0, b.y) - max(float(y), a.y);
      for (int x = int(floor(a.x)); float(x) < b.x && x < uSize.x; x++) {
        float wx = min(float(x) + 1.0, b.x) - max(float(x), a.x);
        sum += wx * wy * texelFetch(uGuide, ivec2(x, y), 0);
      }
    }
    o = sum / (s.x * s.y);
  }`;

  // Normalised joint-bilateral weights of the 4 taps of every display pixel (upsample._tile_weights_numpy).
  const FS_UP_WEIGHTS = HEAD + TAPS + `
  uniform sampler2D uGuide; uniform sampler2D uGuideLo; uniform ivec2 uSize; uniform ivec2 uGrid;
  uniform float uInvTwoSigma2;
  out vec4 o;
  void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec2 tr, tc;
    ivec2 rows = taps(p.y, uSize.y, uGrid.y, tr);
    ivec2 cols = taps(p.x, uSize.x, uGrid.x, tc);
    vec3 g = texelFetch(uGuide, p, 0).rgb;
    vec3 d0 = texelFetch(uGuideLo, ivec2(cols.x, rows.x), 0).rgb - g;
    vec3 d1 = texelFetch(uGuideLo, ivec2(cols.y, rows.x), 0).rgb - g;
    vec3 d2 = texelFetch(uGuideLo, ivec2(cols.x, rows.y), 0).rgb - g;
    vec3 d3 = texelFetch(uGuideLo, ivec2(cols.y, rows.y), 0).rgb - g;
    vec4 dist = vec4(dot(d0, d0), dot(d1, d1), dot(d2, d2), dot(d3, d3));
    vec4 spatial = vec4(tr.x * tc.x, tr.x * tc.y, tr.y * tc.x, tr.y * tc.y);
    float m = 1e30;
    for (int k = 0; k < 4; k++) if (spatial[k] > 0.0) m = min(m, dist[k]);
    vec4 w = spatial * exp(-(dist - m) * uInvTwoSigma2);
    o = w / (w.x + w.y + w.z + w.w);
  }`;

  // Inverse DFT on the grid: anchored displacement in display pixels (x right, y down).
  const FS_IDFT = HEAD + `
  uniform sampler2DArray uCoef; uniform int uBands; uniform vec2 uPhase[${MAX_BANDS}]; uniform vec2 uScale;
  out vec4 o;
  void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec2 a = vec2(0.0);
    for (int k = 0; k < uBands; k++) {
      vec4 c = texelFetch(uCoef, ivec3(p, k), 0);
      vec2 ph = uPhase[k];  // gain * (cos - 1, -sin)
      a += vec2(c.x * ph.x + c.y * ph.y, c.z * ph.x + c.w * ph.y);
    }
    o = vec4(a * uScale, 0.0, 1.0);
  }`;

  // Splat weight on the grid: mean over the loop samples of |a| in display pixels.
  const FS_WEIGHT = HEAD + `
  uniform sampler2DArray uCoef; uniform int uBands; uniform sampler2D uPhases; uniform int uSamples;
  uniform float uGain[${MAX_BANDS}]; uniform vec2 uScale;
  out vec4 o;
  void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    float total = 0.0;
    for (int j = 0; j < uSamples; j++) {
      vec2 a = vec2(0.0);
      for (int k = 0; k < uBands; k++) {
        vec4 c = texelFetch(uCoef, ivec3(p, k), 0);
        vec2 ph = uGain[k] * texelFetch(uPhases, ivec2(k, j), 0).xy;
        a += vec2(c.x * ph.x + c.y * ph.y, c.z * ph.x + c.w * ph.y);
      }
      total += length(a * uScale);
    }
    o = vec4(total / float(uSamples), 0.0, 0.0, 1.0);
  }`;

  // The gather of the upsampling: first + sum_k w_k (v_k - first) (upsample._gather_numpy).
  const UPSAMPLE = TAPS + `
  vec4 upsample(sampler2D field, sampler2D weights, ivec2 p, ivec2 size, ivec2 grid) {
    vec2 tr, tc;
    ivec2 rows = taps(p.y, size.y, grid.y, tr);
    ivec2 cols = taps(p.x, size.x, grid.x, tc);
    vec4 w = texelFetch(weights, p, 0);
    vec4 v0 = texelFetch(field, ivec2(cols.x, rows.x), 0);
    vec4 v1 = texelFetch(field, ivec2(cols.y, rows.x), 0);
    vec4 v2 = texelFetch(field, ivec2(cols.x, rows.y), 0);
    vec4 v3 = texelFetch(field, ivec2(cols.y, rows.y), 0);
    return v0 + (w.y * (v1 - v0) + w.z * (v2 - v0) + w.w * (v3 - v0));
  }`;

  const FS_UPSAMPLE = HEAD + UPSAMPLE + `
  uniform sampler2D uField; uniform sampler2D uWeights; uniform ivec2 uSize; uniform ivec2 uGrid;
  out vec4 o;
  void main() { o = upsample(uField, uWeights, ivec2(gl_FragCoord.xy), uSize, uGrid); }`;

  // The displacement at display size and each source pixel's softmax splat weight exp(beta W - max), in one texture.
  const FS_DISPLACEMENT = HEAD + UPSAMPLE + `
  uniform sampler2D uDisp; uniform sampler2D uWeights; uniform sampler2D uImportance;
  uniform ivec2 uSize; uniform ivec2 uGrid; uniform float uBeta; uniform float uTop;
  out vec4 o;
  void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec2 d = upsample(uDisp, uWeights, p, uSize, uGrid).xy;
    o = vec4(d, exp(max(uBeta * texelFetch(uImportance, p, 0).r - uTop, -80.0)), 0.0);
  }`;

  // Softmax splatting: one point per source pixel, 2x2 pixels large, centred on the corner its 4 targets share.
  // The viewport is one pixel larger on every side, so every centre lies strictly inside the clip volume.
  const VS_SPLAT = HEAD + `
  uniform sampler2D uDisplacement; uniform sampler2D uSource; uniform ivec2 uSize;
  flat out vec4 vColor; flat out vec4 vTarget; flat out float vWeight;
  void main() {
    ivec2 p = ivec2(gl_VertexID % uSize.x, gl_VertexID / uSize.x);
    vec4 d = texelFetch(uDisplacement, p, 0);
    vec2 t = vec2(p) + d.xy;
    gl_PointSize = 2.0;
    if (!(t.x > -1.0 && t.x < float(uSize.x) && t.y > -1.0 && t.y < float(uSize.y))) {
      gl_Position = vec4(0.0, 0.0, 2.0, 1.0);  // beyond the far plane: dropped, as the engine drops it
      return;
    }
    vec2 base = floor(t);
    vTarget = vec4(base, t - base);
    vec2 centre = base + 2.0;  // corner (base + 1) in a viewport shifted by one pixel
    gl_Position = vec4(centre / vec2(uSize + 2) * 2.0 - 1.0, 0.0, 1.0);
    vec4 c = texelFetch(uSource, p, 0);
    vColor = vec4(c.rgb * c.a, c.a);  // premultiplied while splatting
    vWeight = d.z;
  }`;

  // An opaque picture has alpha 1 everywhere, so the summed weight is the accumulator's alpha: one target to blend.
  // A picture with alpha needs a second target for the weight.
  const FS_SPLAT = (alpha) => HEAD + `
  flat in vec4 vColor; flat in vec4 vTarget; flat in float vWeight;
  layout(location = 0) out vec4 oAccum;
  ${alpha ? "layout(location = 1) out vec4 oWeight;" : ""}
  void main() {
    vec2 tap = floor(gl_FragCoord.xy) - vTarget.xy;  // 0 or 1: which of the 4 target pixels this fragment is
    vec2 w2 = mix(1.0 - vTarget.zw, vTarget.zw, tap);
    float w = w2.x * w2.y * vWeight;
    oAccum = vColor * w;
    ${alpha ? "oWeight = vec4(w, 0.0, 0.0, 0.0);" : ""}
  }`;

  // Normalise: values = accum / weight where covered (weight > 0), coverage in the second target.
  const FS_NORMALISE = (alpha) => HEAD + `
  uniform sampler2D uAccum; uniform sampler2D uWeight;
  layout(location = 0) out vec4 oValue;
  layout(location = 1) out vec4 oCovered;
  void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 accum = texelFetch(uAccum, p, 0);
    float w = ${alpha ? "texelFetch(uWeight, p, 0).r" : "accum.a"};
    bool covered = w > 0.0;
    oValue = covered ? accum / w : vec4(0.0);
    oCovered = vec4(covered ? 1.0 : 0.0);
  }`;

  // Pull: each coarse pixel is the mean of its covered 2x2 children.
  const FS_PULL = HEAD + `
  uniform sampler2D uValue; uniform sampler2D uCovered; uniform ivec2 uFine;
  layout(location = 0) out vec4 oValue;
  layout(location = 1) out vec4 oCovered;
  void main() {
    ivec2 c = ivec2(gl_FragCoord.xy);
    vec4 sum = vec4(0.0);
    float n = 0.0;
    for (int dy = 0; dy < 2; dy++) for (int dx = 0; dx < 2; dx++) {
      ivec2 f = 2 * c + ivec2(dx, dy);
      if (f.x < uFine.x && f.y < uFine.y && texelFetch(uCovered, f, 0).r > 0.5) {
        n += 1.0;
        sum += texelFetch(uValue, f, 0);
      }
    }
    oValue = n > 0.0 ? sum / n : vec4(0.0);
    oCovered = vec4(n > 0.0 ? 1.0 : 0.0);
  }`;

  // Push: a hole takes the bilinear interpolation of the filled coarser level (fine i at coarse i / 2 - 0.25).
  const PUSH = `
  vec4 pushed(sampler2D coarse, ivec2 cs, ivec2 p) {
    float v = clamp(float(p.y) * 0.5 - 0.25, 0.0, float(cs.y) - 1.0);
    float u = clamp(float(p.x) * 0.5 - 0.25, 0.0, float(cs.x) - 1.0);
    int v0 = int(v), u0 = int(u);
    int v1 = min(v0 + 1, cs.y - 1), u1 = min(u0 + 1, cs.x - 1);
    float fv = v - float(v0), fu = u - float(u0);
    vec4 top = texelFetch(coarse, ivec2(u0, v0), 0) * (1.0 - fu) + texelFetch(coarse, ivec2(u1, v0), 0) * fu;
    vec4 bottom = texelFetch(coarse, ivec2(u0, v1), 0) * (1.0 - fu) + texelFetch(coarse, ivec2(u1, v1), 0) * fu;
    return top * (1.0 - fv) + bottom * fv;
  }`;

  const FS_PUSH = HEAD + PUSH + `
  uniform sampler2D uValue; uniform sampler2D uCovered; uniform sampler2D uCoarse; uniform ivec2 uCoarseSize;
  out vec4 o;
  void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    o = texelFetch(uCovered, p, 0).r > 0.5 ? texelFetch(uValue, p, 0) : pushed(uCoarse, uCoarseSize, p);
  }`;

  // Last level onto the canvas: fill, un-premultiply, flip to window coordinates (y up).
  const FS_PRESENT = HEAD + PUSH + `
  uniform sampler2D uValue; uniform sampler2D uCovered; uniform sampler2D uCoarse; uniform ivec2 uCoarseSize;
  uniform ivec2 uSize; uniform bool uHasCoarse; uniform bool uAlpha;
  out vec4 o;
  void main() {
    ivec2 p = ivec2(int(gl_FragCoord.x), uSize.y - 1 - int(gl_FragCoord.y));
    vec4 v = texelFetch(uValue, p, 0);
    if (uHasCoarse && texelFetch(uCovered, p, 0).r < 0.5) v = pushed(uCoarse, uCoarseSize, p);
    if (uAlpha) o = v.a > 0.0 ? vec4(v.rgb / v.a, v.a) : vec4(0.0);
    else o = vec4(v.rgb, 1.0);
  }`;

  // ---------------------------------------------------------------------------------------------------------------
  // Player

  class Player {
    constructor(canvas, data, picture) {
      this.canvas = canvas;
      this.data = data;
      this.osc = data.oscillation;
      this.picture = picture;
      this.alpha = data.image.alpha;
      const gl = canvas.getContext("webgl2", {
        alpha: this.alpha, antialias: false, depth: false, stencil: false, premultipliedAlpha: false,
        preserveDrawingBuffer: true, powerPreference: "high-performance",
      });
      if (!gl) throw new DataError("this browser has no WebGL2, which the player needs. Try a current Chrome, " +
        "Firefox or Safari, or turn on hardware acceleration.");
      this.gl = gl;
      if (!gl.getExtension("EXT_color_buffer_float")) {
        throw new DataError("this browser's WebGL2 cannot render to float textures (EXT_color_buffer_float), " +
          "which the player needs.");
      }
      // Summing splat weights needs float blending; without it half floats are blended (less precise).
      this.floatBlend = !!gl.getExtension("EXT_float_blend");
      this.accumFormat = this.floatBlend ? gl.RGBA32F : gl.RGBA16F;
      const maxSize = gl.getParameter(gl.MAX_TEXTURE_SIZE);
      this.maxSize = maxSize;
      if (picture.width > maxSize || picture.height > maxSize) {
        throw new DataError(`the picture (${picture.width}x${picture.height}) is larger than this GPU's largest ` +
          `texture (${maxSize}); export a smaller image.`);
      }
      this.strength = 1;
      this.speed = 1;
      this.lowCut = 0;
      this.highCut = Infinity;
      this.size = null;
      this._programs();
      this._staticTextures();
    }

    _programs() {
      const gl = this.gl;
      this.progs = {
        guide: program(gl, VS_FULL, FS_GUIDE),
        guideLo: program(gl, VS_FULL, FS_GUIDE_LO),
        upWeights: program(gl, VS_FULL, FS_UP_WEIGHTS),
        idft: program(gl, VS_FULL, FS_IDFT),
        weight: program(gl, VS_FULL, FS_WEIGHT),
        upsample: program(gl, VS_FULL, FS_UPSAMPLE),
        displacement: program(gl, VS_FULL, FS_DISPLACEMENT),
        splat: program(gl, VS_SPLAT, FS_SPLAT(this.alpha)),
        normalise: program(gl, VS_FULL, FS_NORMALISE(this.alpha)),
        pull: program(gl, VS_FULL, FS_PULL),
        push: program(gl, VS_FULL, FS_PUSH),
        present: program(gl, VS_FULL, FS_PRESENT),
      };
      this.vao = gl.createVertexArray();
    }

    _staticTextures() {
      const gl = this.gl;
      const o = this.osc;
      gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
      gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
      gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      this.image = texture(gl, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, this.picture.width, this.picture.height, null,
        gl.LINEAR);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, this.picture);
      gl.generateMipmap(gl.TEXTURE_2D);  // a display smaller than the picture samples it without aliasing
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR_MIPMAP_LINEAR);
      this.coef = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D_ARRAY, this.coef);
      gl.texImage3D(gl.TEXTURE_2D_ARRAY, 0, gl.RGBA32F, o.w, o.h, Math.max(o.K, 1), 0, gl.RGBA, gl.FLOAT,
        o.K ? o.coeffs : new Float32Array(o.w * o.h * 4));
      gl.texParameteri(gl.TEXTURE_2D_ARRAY, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D_ARRAY, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      // (cos - 1, -sin) of every band at every splat-weight sample: texel (k, j).
      const J = o.samples.length;
      const phases = new Float32Array(Math.max(o.K, 1) * J * 4);
      for (let j = 0; j < J; j++) {
        for (let k = 0; k < o.K; k++) {
          const angle = 2 * Math.PI * ((o.harmonics[k] * o.samples[j]) % 1);
          phases.set([Math.cos(angle) - 1, -Math.sin(angle), 0, 0], (j * Math.max(o.K, 1) + k) * 4);
        }
      }
      this.phases = texture(gl, gl.RGBA32F, gl.RGBA, gl.FLOAT, Math.max(o.K, 1), J, phases);
      this.gridDisp = framebuffer(gl, [texture(gl, gl.RGBA32F, gl.RGBA, gl.FLOAT, o.w, o.h)]);
      this.gridWeight = framebuffer(gl, [texture(gl, gl.RGBA32F, gl.RGBA, gl.FLOAT, o.w, o.h)]);
    }

    /** Band gains of the current strength and cuts (edits.frequency_cut: inclusive, relative tolerance 1e-6). */
    gains() {
      const o = this.osc;
      return o.harmonics.map((m) => {
        const f = m * o.fps / o.loop;
        const low = this.lowCut, high = this.highCut;
        const keep = f >= low - 1e-6 * Math.max(low, 1) && f <= high + 1e-6 * Math.max(high, 1);
        return keep ? this.strength : 0;
      });
    }

    resize(width, height) {
      if (this.size && this.size[0] === width && this.size[1] === height) return;
      const gl = this.gl;
      this._releaseSized();
      this.canvas.width = width;
      this.canvas.height = height;
      this.size = [width, height];
      const sized = [];
      this.sized = sized;  // every target made for this size, released on the next resize
      const keep = (fb) => (sized.push(fb), fb);
      const rgba8 = () => texture(gl, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, width, height, null, gl.LINEAR);
      const f32 = (w, h, fmt) => texture(gl, fmt || gl.RGBA32F, gl.RGBA, gl.FLOAT, w, h);
      this.guide = keep(framebuffer(gl, [rgba8()]));
      this.guideLo = keep(framebuffer(gl, [f32(this.osc.w, this.osc.h)]));
      this.upWeights = keep(framebuffer(gl, [f32(width, height)]));
      this.importance = keep(framebuffer(gl, [texture(gl, gl.R32F, gl.RED, gl.FLOAT, width, height)]));
      this.displacement = keep(framebuffer(gl, [f32(width, height)]));
      const accumTargets = this.alpha ? 2 : 1;
      const accumTexture = () => f32(width, height, this.accumFormat);
      this.accum = keep(framebuffer(gl, Array.from({ length: accumTargets }, accumTexture)));
      this.levels = [];
      let w = width, h = height;
      // each level: premultiplied values (float) and coverage (0 or 1, one byte)
      const r8 = (w, h) => texture(gl, gl.R8, gl.RED, gl.UNSIGNED_BYTE, w, h);
      this.levels.push({ fb: keep(framebuffer(gl, [f32(w, h), r8(w, h)])), w, h });
      while (w > 1 || h > 1) {
        w = (w + 1) >> 1;
        h = (h + 1) >> 1;
        const fb = keep(framebuffer(gl, [f32(w, h), r8(w, h)]));
        this.levels.push({ fb, filled: keep(framebuffer(gl, [f32(w, h)])), w, h });
      }
      const sameSize = width === this.picture.width && height === this.picture.height;
      this._pass(this.progs.guide, this.guide, { uImage: this.image, uSize: [width, height], uSame: sameSize });
      this._pass(this.progs.guideLo, this.guideLo, { uGuide: this.guide.textures[0], uSize: [width, height],
        uGrid: [this.osc.w, this.osc.h] });
      this._pass(this.progs.upWeights, this.upWeights, {
        uGuide: this.guide.textures[0], uGuideLo: this.guideLo.textures[0], uSize: [width, height],
        uGrid: [this.osc.w, this.osc.h], uInvTwoSigma2: 1 / (2 * this.osc.sigma * this.osc.sigma),
      });
      this.weightsDirty = true;
    }

    _releaseSized() {
      const gl = this.gl;
      for (const target of this.sized || []) {
        gl.deleteFramebuffer(target.fb);
        target.textures.forEach((tex) => gl.deleteTexture(tex.t));
      }
      this.sized = [];
    }

    _bind(prog, uniforms) {
      const gl = this.gl;
      gl.useProgram(prog.p);
      let unit = 0;
      for (const [name, value] of Object.entries(uniforms)) {
        const loc = prog.u[name];
        if (loc === undefined || loc === null) continue;
        if (value && value.t) {
          gl.activeTexture(gl.TEXTURE0 + unit);
          gl.bindTexture(gl.TEXTURE_2D, value.t);
          gl.uniform1i(loc, unit++);
        } else if (value && value.array) {
          gl.activeTexture(gl.TEXTURE0 + unit);
          gl.bindTexture(gl.TEXTURE_2D_ARRAY, value.array);
          gl.uniform1i(loc, unit++);
        } else if (typeof value === "boolean") {
          gl.uniform1i(loc, value ? 1 : 0);
        } else if (value && value.int !== undefined) {
          gl.uniform1i(loc, value.int);
        } else if (value && value.vec2) {
          gl.uniform2fv(loc, value.vec2);
        } else if (value && value.floats) {
          gl.uniform1fv(loc, value.floats);
        } else if (Array.isArray(value)) {
          gl.uniform2i(loc, value[0], value[1]);
        } else {
          gl.uniform1f(loc, value);
        }
      }
    }

    _pass(prog, target, uniforms) {
      const gl = this.gl;
      this._bind(prog, uniforms);
      gl.bindFramebuffer(gl.FRAMEBUFFER, target ? target.fb : null);
      const w = target ? target.w : this.size[0], h = target ? target.h : this.size[1];
      gl.viewport(0, 0, w, h);
      gl.bindVertexArray(this.vao);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
    }

    _scale() {
      return [this.size[0] / this.osc.w, this.size[1] / this.osc.h];
    }

    /** The splat weight W at display size (GID: mean |a| over the loop), and its largest grid value. */
    _updateWeights() {
      const gl = this.gl;
      const o = this.osc;
      const [sx, sy] = this._scale();
      this._pass(this.progs.weight, this.gridWeight, {
        uCoef: { array: this.coef }, uBands: { int: o.K }, uPhases: this.phases, uSamples: { int: o.samples.length },
        uGain: { floats: this._padded(this.gains()) }, uScale: { vec2: [sx, sy] },
      });
      const grid = new Float32Array(o.w * o.h * 4);
      gl.readPixels(0, 0, o.w, o.h, gl.RGBA, gl.FLOAT, grid);
      let top = 0;
      for (let i = 0; i < grid.length; i += 4) top = Math.max(top, grid[i]);
      this.top = this.osc.beta * top;
      this._pass(this.progs.upsample, this.importance, {
        uField: this.gridWeight.textures[0], uWeights: this.upWeights.textures[0], uSize: this.size,
        uGrid: [o.w, o.h],
      });
      this.weightsDirty = false;
    }

    _padded(values) {
      const out = new Float32Array(MAX_BANDS);
      out.set(values.slice(0, MAX_BANDS));
      return out;
    }

    setEdits(edits) {
      Object.assign(this, edits);
      this.weightsDirty = true;
    }

    /** Render output frame `t` (frames at the file's fps; fractional allowed) onto the canvas. With `stages` (an
     * object), each stage is waited for and its milliseconds added under its name (benchmarks only: it stalls). */
    render(t, stages) {
      const gl = this.gl;
      const o = this.osc;
      let clock = stages ? performance.now() : 0;
      const lap = (name) => {
        if (!stages) return;
        gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, new Float32Array(4));
        const now = performance.now();
        stages[name] = (stages[name] || 0) + now - clock;
        clock = now;
      };
      if (this.weightsDirty) this._updateWeights();
      const gains = this.gains();
      const phase = new Float32Array(2 * MAX_BANDS);
      for (let k = 0; k < o.K; k++) {
        // cycles of band k at frame t, reduced modulo the loop exactly for whole frames (frame L equals frame 0)
        const cycles = Number.isInteger(t) ? ((o.harmonics[k] * t) % o.loop) / o.loop
          : ((o.harmonics[k] * t / o.loop) % 1);
        const angle = 2 * Math.PI * cycles;
        phase[2 * k] = gains[k] * (Math.cos(angle) - 1);
        phase[2 * k + 1] = -gains[k] * Math.sin(angle);
      }
      const [sx, sy] = this._scale();
      this._pass(this.progs.idft, this.gridDisp, {
        uCoef: { array: this.coef }, uBands: { int: o.K }, uPhase: { vec2: phase }, uScale: { vec2: [sx, sy] },
      });
      lap("idft");
      // splat
      const [W, H] = this.size;
      this._pass(this.progs.displacement, this.displacement, {
        uDisp: this.gridDisp.textures[0], uWeights: this.upWeights.textures[0],
        uImportance: this.importance.textures[0], uSize: this.size, uGrid: [o.w, o.h], uBeta: o.beta, uTop: this.top,
      });
      lap("upsample");
      this._bind(this.progs.splat, {
        uDisplacement: this.displacement.textures[0], uSource: this.guide.textures[0], uSize: this.size,
      });
      gl.bindFramebuffer(gl.FRAMEBUFFER, this.accum.fb);
      gl.viewport(-1, -1, W + 2, H + 2);
      gl.clearColor(0, 0, 0, 0);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE);
      gl.blendEquation(gl.FUNC_ADD);
      gl.drawArrays(gl.POINTS, 0, W * H);
      gl.disable(gl.BLEND);
      lap("splat");
      // normalise, pull down the pyramid, push back up
      const L = this.levels;
      this._pass(this.progs.normalise, L[0].fb, { uAccum: this.accum.textures[0],
        uWeight: this.accum.textures[this.alpha ? 1 : 0] });
      for (let l = 1; l < L.length; l++) {
        this._pass(this.progs.pull, L[l].fb, { uValue: L[l - 1].fb.textures[0], uCovered: L[l - 1].fb.textures[1],
          uFine: [L[l - 1].w, L[l - 1].h] });
      }
      for (let l = L.length - 1; l >= 1; l--) {
        const coarsest = l === L.length - 1;
        this._pass(this.progs.push, L[l].filled, {
          uValue: L[l].fb.textures[0], uCovered: L[l].fb.textures[1],  // the coarsest level (1x1) pushes from itself
          uCoarse: coarsest ? L[l].fb.textures[0] : L[l + 1].filled.textures[0],
          uCoarseSize: coarsest ? [L[l].w, L[l].h] : [L[l + 1].w, L[l + 1].h],
        });
      }
      lap("normalise+pull+push");  // the last push level and the drawing are what remains
      this._pass(this.progs.present, null, {
        uValue: L[0].fb.textures[0], uCovered: L[0].fb.textures[1],
        uCoarse: L.length > 1 ? L[1].filled.textures[0] : L[0].fb.textures[0],
        uCoarseSize: L.length > 1 ? [L[1].w, L[1].h] : [W, H], uSize: this.size, uHasCoarse: L.length > 1,
        uAlpha: this.alpha,
      });
    }

    /** The canvas as RGBA bytes, rows top to bottom (for tests and tools). */
    readPixels() {
      const gl = this.gl;
      const [W, H] = this.size;
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      const raw = new Uint8Array(W * H * 4);
      gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, raw);
      const out = new Uint8Array(W * H * 4);
      for (let y = 0; y < H; y++) out.set(raw.subarray((H - 1 - y) * W * 4, (H - y) * W * 4), y * W * 4);
      return out;
    }

    rendererName() {
      const gl = this.gl;
      const info = gl.getExtension("WEBGL_debug_renderer_info");
      return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Page

  function bytesToBase64(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  function stillSize(picture, maxSide) {
    let width = picture.width;
    if (widthParam !== null) {
      width = Number(widthParam);
      if (!Number.isInteger(width) || width < 1) {
        throw new DataError(`?width= must be a whole number of pixels, got "${widthParam}".`);
      }
    }
    const height = Math.max(1, Math.round(width * picture.height / picture.width));
    if (Math.max(width, height) > maxSide) {
      throw new DataError(`a frame ${width}x${height} pixels large is more than this GPU draws (${maxSide} a side); ` +
        "ask for a smaller ?width=.");
    }
    return [width, height];
  }

  // Above this many display pixels (3840 x 2160) the player renders fewer and the browser scales the canvas up: every
  // display pixel holds about 90 bytes of render targets (0.75 GB at 4K).
  const MAX_DISPLAY_PIXELS = 3840 * 2160;

  function displaySize(picture, maxSide) {
    const dpr = window.devicePixelRatio || 1;
    const fullscreen = document.fullscreenElement !== null;
    const maxW = window.innerWidth;
    const maxH = window.innerHeight - (fullscreen ? 0 : $("controls").offsetHeight + 8);  // full screen: overlaid
    const scale = Math.min(maxW / picture.width, Math.max(maxH, 64) / picture.height);
    const cssW = Math.max(1, Math.floor(picture.width * scale));
    const cssH = Math.max(1, Math.floor(picture.height * scale));
    const shrink = Math.min(1, Math.sqrt(MAX_DISPLAY_PIXELS / (cssW * cssH * dpr * dpr)),
      maxSide / (Math.max(cssW, cssH) * dpr));
    return { cssW, cssH, width: Math.max(1, Math.floor(cssW * dpr * shrink)),
      height: Math.max(1, Math.floor(cssH * dpr * shrink)) };
  }

  function setupControls(player) {
    const o = player.osc;
    const top = o.K ? Math.max(...o.harmonics) * o.fps / o.loop : 0;
    const step = o.fps / o.loop;
    let playing = true;
    let position = 0; // loop position in frames
    let last = null;
    const strength = $("strength"), speed = $("speed"), low = $("lowcut"), high = $("highcut");
    for (const el of [low, high]) {
      el.max = String(top);
      el.step = String(step);
    }
    high.value = String(top);
    const show = () => {
      strength.nextElementSibling.textContent = Number(strength.value).toFixed(2) + "x";
      speed.nextElementSibling.textContent = Number(speed.value).toFixed(2) + "x";
      low.nextElementSibling.textContent = Number(low.value).toFixed(2) + " Hz";
      high.nextElementSibling.textContent = Number(high.value).toFixed(2) + " Hz";
    };
    const edit = () => {
      show();
      const h = Number(high.value);
      player.setEdits({ strength: Number(strength.value), lowCut: Number(low.value),
        highCut: h >= top - step / 2 ? Infinity : h });
      if (!playing) player.render(position);
    };
    [strength, low, high].forEach((el) => el.addEventListener("input", edit));
    speed.addEventListener("input", () => {
      show();
      player.speed = Number(speed.value);
    });
    const playButton = $("play");
    let chain = 0; // one animation-frame chain at a time, however fast Play and Pause are pressed
    playButton.addEventListener("click", () => {
      playing = !playing;
      playButton.textContent = playing ? "Pause" : "Play";
      last = null;
      chain++;
      if (playing) requestAnimationFrame((now) => tick(now, chain));
    });
    $("fullscreen").addEventListener("click", () => {
      if (document.fullscreenElement) document.exitFullscreen();
      else $("stage").requestFullscreen().catch((e) => notice("Full screen was refused: " + e.message));
    });
    const fit = () => {
      const s = displaySize(player.picture, player.maxSize);
      player.canvas.style.width = s.cssW + "px";
      player.canvas.style.height = s.cssH + "px";
      player.resize(s.width, s.height);
      if (!playing) player.render(position);
    };
    window.addEventListener("resize", fit);
    document.addEventListener("fullscreenchange", fit);
    function tick(now, id) {
      if (!playing || id !== chain) return;
      if (last !== null) position = (position + (now - last) / 1000 * o.fps * player.speed) % o.loop;
      last = now;
      player.render(position);
      requestAnimationFrame((next) => tick(next, id));
    }
    $("controls").hidden = false;
    show();
    fit();
    requestAnimationFrame((now) => tick(now, chain));
  }

  function runStill(player) {
    const [width, height] = stillSize(player.picture, player.maxSize);
    player.canvas.style.width = width + "px";
    player.canvas.style.height = height + "px";
    player.resize(width, height);
    if (benchParam !== null) {
      const count = Number(benchParam);
      if (!Number.isInteger(count) || count < 1) {
        throw new DataError(`?bench= must be a frame count, got "${benchParam}".`);
      }
      const gl = player.gl;
      const pixel = new Uint8Array(4);
      player.render(0);
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel); // warm-up, compiled and uploaded
      const times = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        player.render((i * 7 + 1) % player.osc.loop);
        gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel); // waits for the frame to finish
        times.push(performance.now() - start);
      }
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      const sorted = times.slice().sort((a, b) => a - b);
      // where the time goes: a few more frames, each stage waited for (the stalls cost a little extra)
      const stages = {};
      const profiled = Math.min(count, 3);
      let total = 0;
      for (let i = 0; i < profiled; i++) {
        const start = performance.now();
        player.render((i * 11 + 2) % player.osc.loop, stages);
        gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
        total += performance.now() - start;
      }
      const stageMs = {};
      let named = 0;
      for (const [name, ms] of Object.entries(stages)) {
        stageMs[name] = ms / profiled;
        named += ms;
      }
      stageMs["fill+present"] = (total - named) / profiled;
      const result = { width, height, frames: count, mean_ms: mean, median_ms: sorted[sorted.length >> 1],
        stages_ms: stageMs, renderer: player.rendererName(), float_blend: player.floatBlend };
      $("status").textContent = JSON.stringify(result);
      window.imageDynamicsBench = result;
      document.title = `bench ${mean.toFixed(1)} ms`;
      setState("ready");
      return;
    }
    const frame = Number(frameParam);
    if (!Number.isFinite(frame) || frame < 0) {
      throw new DataError(`?frame= must be a frame number >= 0, got "${frameParam}".`);
    }
    player.render(frame);
    player.gl.finish();
    document.title = `frame ${frame} ready`;
    setState("ready");
  }

  async function main() {
    setState("loading");
    if (still) document.body.classList.add("still");
    let data;
    try {
      data = readDocument();
    } catch (e) {
      showError("This web player cannot start: " + e.message +
        (e instanceof DataError ? " Export it again with `image-dynamics export-web`." : ""));
      return;
    }
    const picture = new Image();
    try {
      picture.src = URL.createObjectURL(new Blob([data.image.bytes], { type: "image/png" }));
      await picture.decode();
    } catch (e) {
      showError("This web player cannot start: the image block does not decode as a PNG. " +
        "Export it again with `image-dynamics export-web`.");
      return;
    }
    if (picture.naturalWidth !== data.image.width || picture.naturalHeight !== data.image.height) {
      showError(`This web player cannot start: the image is ${picture.naturalWidth}x${picture.naturalHeight} but ` +
        `the data says ${data.image.width}x${data.image.height}. Export it again with \`image-dynamics export-web\`.`);
      return;
    }
    try {
      const player = new Player($("view"), data, picture);
      window.imageDynamicsPlayer = {
        player,
        readPixelsBase64: () => bytesToBase64(player.readPixels()),
        render: (t) => player.render(t),
      };
      if (!player.floatBlend) {
        notice("This browser cannot blend float32 targets; splat weights are summed in half floats.");
      }
      if (still) runStill(player);
      else {
        setupControls(player);
        setState("playing");
      }
    } catch (e) {
      showError("This web player cannot start: " + e.message);
    }
  }

  main();
})();
