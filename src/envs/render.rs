//! Frames as plain RGB buffers, drawn like Gymnasium's `rgb_array` renders
//! (600x400, same geometry and colours), anti-aliased with tiny-skia.
//!
//! Rendering is a pure function of a [`RenderState`], a small serialisable
//! snapshot an env hands out after every step: replays store one per step and
//! can draw frame k without re-simulating anything.

use serde::{Deserialize, Serialize};
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

pub const FRAME_W: u32 = 600;
pub const FRAME_H: u32 = 400;

/// An RGB image, row-major, 3 bytes per pixel, top row first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Frame {
    /// Binary PPM (P6): viewable anywhere, convertible with any image tool.
    pub fn to_ppm(&self) -> Vec<u8> {
        let mut out = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.rgb);
        out
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// A lander-engine particle (pure decoration, as in Gymnasium).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Particle {
    pub x: f32,
    pub y: f32,
    pub ttl: f32,
}

/// Everything needed to draw one frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RenderState {
    CartPole {
        /// x, x_dot, theta, theta_dot
        state: [f64; 4],
    },
    LunarLander {
        /// Terrain vertices (world units), CHUNKS of them.
        chunk_x: Vec<f32>,
        smooth_y: Vec<f32>,
        helipad_x1: f32,
        helipad_x2: f32,
        helipad_y: f32,
        /// World-space polygons: lander, leg 0, leg 1.
        bodies: Vec<Vec<(f32, f32)>>,
        particles: Vec<Particle>,
    },
    /// Any env's drawing as plain shapes, in pixels with y up from the bottom
    /// of the 600x400 frame (pygame's convention, as the built-in envs draw):
    /// an env added outside this crate renders through this.
    Scene(Vec<Shape>),
    /// Shapes as [`RenderState::Scene`], on a frame of another size (Acrobot
    /// and Pendulum draw 500x500, as Gymnasium does).
    Sized { width: u32, height: u32, shapes: Vec<Shape> },
    /// A frame the env drew itself (a Python env's `render()`), as a
    /// base64 PNG: replays keep one per step, so it is stored compressed.
    Image { width: u32, height: u32, png_base64: String },
}

impl RenderState {
    /// The frame's width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            RenderState::Sized { width, height, .. } | RenderState::Image { width, height, .. } => (*width, *height),
            _ => (FRAME_W, FRAME_H),
        }
    }

    /// An env's own frame, compressed for keeping.
    pub fn from_frame(frame: &Frame) -> RenderState {
        use base64::Engine;
        let mut png_bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut png_bytes, frame.width, frame.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let written = encoder.write_header().and_then(|mut w| w.write_image_data(&frame.rgb));
        if written.is_err() {
            png_bytes.clear();
        }
        RenderState::Image {
            width: frame.width,
            height: frame.height,
            png_base64: base64::engine::general_purpose::STANDARD.encode(&png_bytes),
        }
    }
}

/// Decodes an [`RenderState::Image`]'s PNG (None: not a valid RGB PNG of that size).
fn decode_image(width: u32, height: u32, png_base64: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(png_base64).ok()?;
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buf).ok()?;
    (info.width == width && info.height == height && info.color_type == png::ColorType::Rgb && info.bit_depth == png::BitDepth::Eight)
        .then(|| buf[..(width * height * 3) as usize].to_vec())
}

/// One shape of a [`RenderState::Scene`], drawn in order over a white frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    Polygon { points: Vec<(f32, f32)>, rgb: [u8; 3] },
    Circle { x: f32, y: f32, radius: f32, rgb: [u8; 3] },
    Line { from: (f32, f32), to: (f32, f32), rgb: [u8; 3] },
}

fn paint(r: u8, g: u8, b: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(r, g, b, 255);
    p.anti_alias = true;
    p
}

/// Points in pygame's y-up surface coordinates (`h` the surface's height),
/// flipped as Gymnasium flips the surface.
fn polygon(points: &[(f32, f32)], h: f32) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    let (x0, y0) = *points.first()?;
    pb.move_to(x0, h - y0);
    for &(x, y) in &points[1..] {
        pb.line_to(x, h - y);
    }
    pb.close();
    pb.finish()
}

fn fill(pixmap: &mut Pixmap, points: &[(f32, f32)], p: &Paint) {
    if let Some(path) = polygon(points, pixmap.height() as f32) {
        pixmap.fill_path(&path, p, FillRule::Winding, Transform::identity(), None);
    }
}

fn outline(pixmap: &mut Pixmap, points: &[(f32, f32)], p: &Paint) {
    if let Some(path) = polygon(points, pixmap.height() as f32) {
        pixmap.stroke_path(&path, p, &Stroke { width: 1.0, ..Stroke::default() }, Transform::identity(), None);
    }
}

fn circle(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, p: &Paint) {
    if let Some(path) = PathBuilder::from_circle(x, pixmap.height() as f32 - y, r) {
        pixmap.fill_path(&path, p, FillRule::Winding, Transform::identity(), None);
    }
}

fn line(pixmap: &mut Pixmap, a: (f32, f32), b: (f32, f32), p: &Paint) {
    let h = pixmap.height() as f32;
    let mut pb = PathBuilder::new();
    pb.move_to(a.0, h - a.1);
    pb.line_to(b.0, h - b.1);
    if let Some(path) = pb.finish() {
        pixmap.stroke_path(&path, p, &Stroke { width: 1.0, ..Stroke::default() }, Transform::identity(), None);
    }
}

/// A reusable 600x400 canvas (tiny-skia only refuses zero or huge sizes).
pub fn canvas() -> Option<Pixmap> {
    Pixmap::new(FRAME_W, FRAME_H)
}

/// Draws a frame (allocates a fresh canvas; see [`render_into`] to reuse one).
pub fn render(state: &RenderState) -> Frame {
    let (w, h) = state.size();
    let mut frame = Frame { width: w, height: h, rgb: vec![255; (w * h * 3) as usize] };
    if let Some(mut pixmap) = Pixmap::new(w, h) {
        render_into(state, &mut pixmap, &mut frame);
    }
    frame
}

/// Draws into a reused pixmap and frame buffer (no per-frame allocation while
/// the frame size stays; a state of another size gets a canvas of its own size).
pub fn render_into(state: &RenderState, pixmap: &mut Pixmap, frame: &mut Frame) {
    let (w, h) = state.size();
    if (pixmap.width(), pixmap.height()) != (w, h) {
        if let Some(p) = Pixmap::new(w, h) {
            *pixmap = p;
        }
    }
    if let RenderState::Image { width, height, png_base64 } = state {
        // Drawn already: copied as it is (a frame that does not decode stays white).
        frame.width = *width;
        frame.height = *height;
        frame.rgb = decode_image(*width, *height, png_base64).unwrap_or_else(|| vec![255; (width * height * 3) as usize]);
        return;
    }
    pixmap.fill(Color::WHITE);
    match state {
        RenderState::CartPole { state } => draw_cartpole(pixmap, state),
        RenderState::LunarLander { chunk_x, smooth_y, helipad_x1, helipad_x2, helipad_y, bodies, particles } => {
            draw_lunar(pixmap, chunk_x, smooth_y, (*helipad_x1, *helipad_x2, *helipad_y), bodies, particles)
        }
        RenderState::Scene(shapes) | RenderState::Sized { shapes, .. } => draw_scene(pixmap, shapes),
        RenderState::Image { .. } => {}
    }
    frame.width = pixmap.width();
    frame.height = pixmap.height();
    frame.rgb.clear();
    frame.rgb.reserve((frame.width * frame.height * 3) as usize);
    // Everything drawn is opaque on an opaque background: premultiplied == straight.
    for px in pixmap.data().chunks_exact(4) {
        frame.rgb.extend_from_slice(&px[..3]);
    }
}

fn draw_scene(pixmap: &mut Pixmap, shapes: &[Shape]) {
    for shape in shapes {
        match shape {
            Shape::Polygon { points, rgb } => fill(pixmap, points, &paint(rgb[0], rgb[1], rgb[2])),
            Shape::Circle { x, y, radius, rgb } => circle(pixmap, *x, *y, *radius, &paint(rgb[0], rgb[1], rgb[2])),
            Shape::Line { from, to, rgb } => line(pixmap, *from, *to, &paint(rgb[0], rgb[1], rgb[2])),
        }
    }
}

/// Gymnasium's CartPole render: track, black cart, wooden pole, blue axle.
fn draw_cartpole(pixmap: &mut Pixmap, x: &[f64; 4]) {
    let world_width = super::cartpole::X_THRESHOLD * 2.0;
    let scale = FRAME_W as f64 / world_width;
    let polewidth = 10.0;
    let polelen = scale * (2.0 * 0.5);
    let (cartwidth, cartheight) = (50.0, 30.0);
    let axleoffset = cartheight / 4.0;
    let cartx = x[0] * scale + FRAME_W as f64 / 2.0;
    let carty = 100.0;
    let (l, r, t, b) = (-cartwidth / 2.0, cartwidth / 2.0, cartheight / 2.0, -cartheight / 2.0);
    let cart: Vec<(f32, f32)> =
        [(l, b), (l, t), (r, t), (r, b)].iter().map(|&(px, py)| ((px + cartx) as f32, (py + carty) as f32)).collect();
    fill(pixmap, &cart, &paint(0, 0, 0));
    let (l, r, t, b) = (-polewidth / 2.0, polewidth / 2.0, polelen - polewidth / 2.0, -polewidth / 2.0);
    let (s, c) = (-x[2]).sin_cos();
    let pole: Vec<(f32, f32)> = [(l, b), (l, t), (r, t), (r, b)]
        .iter()
        .map(|&(px, py)| ((px * c - py * s + cartx) as f32, (px * s + py * c + carty + axleoffset) as f32))
        .collect();
    fill(pixmap, &pole, &paint(202, 152, 101));
    circle(pixmap, cartx as f32, (carty + axleoffset) as f32, (polewidth / 2.0).floor() as f32, &paint(129, 132, 203));
    line(pixmap, (0.0, carty as f32), (FRAME_W as f32, carty as f32), &paint(0, 0, 0));
}

/// Gymnasium's LunarLander render: black sky above the moon's surface,
/// particles, lander and legs, helipad flags.
fn draw_lunar(
    pixmap: &mut Pixmap,
    chunk_x: &[f32],
    smooth_y: &[f32],
    (x1, x2, hy): (f32, f32, f32),
    bodies: &[Vec<(f32, f32)>],
    particles: &[Particle],
) {
    let scale = super::lunar_lander::SCALE as f32;
    let top = super::lunar_lander::H as f32 * scale;
    let black = paint(0, 0, 0);
    for i in 0..chunk_x.len().saturating_sub(1) {
        let (ax, ay, bx, by) = (chunk_x[i] * scale, smooth_y[i] * scale, chunk_x[i + 1] * scale, smooth_y[i + 1] * scale);
        fill(pixmap, &[(ax, ay), (bx, by), (bx, top), (ax, top)], &black);
    }
    for p in particles {
        let shade = |v: f32| (v.max(0.2) * 255.0) as u8;
        let c = paint(shade(0.15 + p.ttl), shade(0.5 * p.ttl), shade(0.5 * p.ttl));
        circle(pixmap, p.x * scale, p.y * scale, 2.0, &c);
    }
    let (fill_c, edge_c) = (paint(128, 102, 230), paint(77, 77, 128));
    for poly in bodies {
        let pts: Vec<(f32, f32)> = poly.iter().map(|&(x, y)| (x * scale, y * scale)).collect();
        fill(pixmap, &pts, &fill_c);
        outline(pixmap, &pts, &edge_c);
    }
    for x in [x1 * scale, x2 * scale] {
        let flagy1 = hy * scale;
        let flagy2 = flagy1 + 50.0;
        line(pixmap, (x, flagy1), (x, flagy2), &paint(255, 255, 255));
        fill(pixmap, &[(x, flagy2), (x, flagy2 - 10.0), (x + 25.0, flagy2 - 5.0)], &paint(204, 204, 0));
    }
}
