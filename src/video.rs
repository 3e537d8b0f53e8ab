//! MP4 (H.264, yuv420p, fast-start) from RGB frames: openh264 encodes, muxide
//! muxes. A leaf module: it takes plain RGB buffers and knows no env or GUI.
//!
//! The file is written to `<path>.part` and renamed when complete, so a failed
//! or interrupted export never leaves a truncated video behind.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct VideoError(pub String);

impl fmt::Display for VideoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for VideoError {}

fn err<T>(msg: impl Into<String>) -> Result<T, VideoError> {
    Err(VideoError(msg.into()))
}

/// Where the temporary file lives while an export is in progress.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    path.with_file_name(name)
}

#[cfg(feature = "h264")]
mod imp {
    use super::{VideoError, err, partial_path};
    use muxide::api::{Muxer, MuxerBuilder, VideoCodec};
    use openh264::OpenH264API;
    use openh264::encoder::{
        Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, QpRange, RateControlMode, UsageType,
    };
    use openh264::formats::{RgbSliceU8, YUVBuffer};
    use std::fs::File;
    use std::io::BufWriter;
    use std::path::{Path, PathBuf};

    /// A frame already converted to yuv420p (the conversion can run on another thread).
    pub struct Yuv420(YUVBuffer);

    impl Yuv420 {
        pub fn from_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Self, VideoError> {
            if rgb.len() != width as usize * height as usize * 3 {
                return err(format!("frame has {} bytes, expected {width}x{height}x3", rgb.len()));
            }
            Ok(Self(YUVBuffer::from_rgb8_source(RgbSliceU8::new(rgb, (width as usize, height as usize)))))
        }
    }

    /// Streams RGB frames into an MP4 file.
    pub struct Mp4Writer {
        encoder: Encoder,
        muxer: Option<Muxer<BufWriter<File>>>,
        width: usize,
        height: usize,
        fps: f64,
        frames: u64,
        part: PathBuf,
        path: PathBuf,
        bitstream: Vec<u8>,
        finished: bool,
    }

    impl Mp4Writer {
        /// `width` and `height` must be even (yuv420p).
        pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<Self, VideoError> {
            if width == 0 || height == 0 || width % 2 != 0 || height % 2 != 0 {
                return err(format!("video size {width}x{height} must be non-zero and even (H.264 yuv420p)"));
            }
            if !(fps > 0.0 && fps <= 240.0) {
                return err(format!("video frame rate {fps} must be in (0, 240]"));
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| VideoError(format!("cannot create directory {}: {e}", dir.display())))?;
            }
            let part = partial_path(path);
            let file = File::create(&part).map_err(|e| VideoError(format!("cannot write {}: {e}", path.display())))?;
            let muxer = MuxerBuilder::new(BufWriter::new(file))
                .video(VideoCodec::H264, width, height, fps)
                .with_fast_start(true)
                .build()
                .map_err(|e| VideoError(format!("mp4 muxer: {e}")))?;
            // Screen content: sharp edges, flat colours. No skipped frames, no
            // background detection (it ghosts moving sprites), QP bounded.
            let config = EncoderConfig::new()
                .usage_type(UsageType::ScreenContentRealTime)
                .rate_control_mode(RateControlMode::Off)
                .qp(QpRange::new(10, 26))
                .skip_frames(false)
                .background_detection(false)
                .adaptive_quantization(false)
                .scene_change_detect(true)
                .complexity(Complexity::Low)
                .intra_frame_period(IntraFramePeriod::from_num_frames(fps.round() as u32 * 4))
                .max_frame_rate(FrameRate::from_hz(fps as f32))
                .num_threads(2);
            let encoder =
                Encoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| VideoError(format!("H.264 encoder: {e}")))?;
            Ok(Self {
                encoder,
                muxer: Some(muxer),
                width: width as usize,
                height: height as usize,
                fps,
                frames: 0,
                part,
                path: path.to_path_buf(),
                bitstream: Vec::new(),
                finished: false,
            })
        }

        pub fn frames(&self) -> u64 {
            self.frames
        }

        /// Appends one frame, RGB, row-major, `width * height * 3` bytes.
        pub fn push_rgb(&mut self, rgb: &[u8]) -> Result<(), VideoError> {
            let yuv = Yuv420::from_rgb(rgb, self.width as u32, self.height as u32)?;
            self.push_yuv(&yuv)
        }

        /// Appends one frame already in yuv420p.
        pub fn push_yuv(&mut self, yuv: &Yuv420) -> Result<(), VideoError> {
            use openh264::formats::YUVSource;
            if yuv.0.dimensions() != (self.width, self.height) {
                return err(format!("frame is {:?}, video is {}x{}", yuv.0.dimensions(), self.width, self.height));
            }
            let encoded = self.encoder.encode(&yuv.0).map_err(|e| VideoError(format!("H.264 encoding frame {}: {e}", self.frames)))?;
            let keyframe = matches!(encoded.frame_type(), FrameType::IDR | FrameType::I);
            self.bitstream.clear();
            encoded.write_vec(&mut self.bitstream);
            let pts = self.frames as f64 / self.fps;
            if let Some(m) = self.muxer.as_mut() {
                m.write_video(pts, &self.bitstream, keyframe).map_err(|e| VideoError(format!("mp4 muxer, frame {}: {e}", self.frames)))?;
            }
            self.frames += 1;
            Ok(())
        }

        /// Finishes the file and moves it into place.
        pub fn finish(mut self) -> Result<PathBuf, VideoError> {
            if self.frames == 0 {
                return err("no frames to write: the video would be empty");
            }
            if let Some(m) = self.muxer.take() {
                m.finish().map_err(|e| VideoError(format!("finishing {}: {e}", self.path.display())))?;
            }
            std::fs::rename(&self.part, &self.path).map_err(|e| VideoError(format!("moving video into {}: {e}", self.path.display())))?;
            self.finished = true;
            Ok(self.path.clone())
        }
    }

    impl Drop for Mp4Writer {
        fn drop(&mut self) {
            if !self.finished {
                self.muxer.take();
                let _ = std::fs::remove_file(&self.part);
            }
        }
    }
}

#[cfg(not(feature = "h264"))]
mod imp {
    use super::{VideoError, err};
    use std::path::{Path, PathBuf};

    pub struct Mp4Writer;
    pub struct Yuv420;

    impl Yuv420 {
        pub fn from_rgb(_rgb: &[u8], _w: u32, _h: u32) -> Result<Self, VideoError> {
            err("no H.264 encoder in this build")
        }
    }

    impl Mp4Writer {
        pub fn push_yuv(&mut self, _yuv: &Yuv420) -> Result<(), VideoError> {
            err("no H.264 encoder in this build")
        }
        pub fn create(_path: &Path, _w: u32, _h: u32, _fps: f64) -> Result<Self, VideoError> {
            err("this build has no H.264 encoder: rebuild with the default `h264` cargo feature to export MP4")
        }
        pub fn frames(&self) -> u64 {
            0
        }
        pub fn push_rgb(&mut self, _rgb: &[u8]) -> Result<(), VideoError> {
            err("no H.264 encoder in this build")
        }
        pub fn finish(self) -> Result<PathBuf, VideoError> {
            err("no H.264 encoder in this build")
        }
    }
}

pub use imp::{Mp4Writer, Yuv420};
