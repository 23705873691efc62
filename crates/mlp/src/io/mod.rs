//! Files: the safetensors container the model and checkpoint files use, written atomically;
//! ONNX export and import ([`onnx`]).

pub mod c_export;
pub mod checkpoint;
pub mod onnx;
pub mod tensor_file;

pub use tensor_file::{TensorFile, atomic_write};
