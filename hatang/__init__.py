"""hatang: infrastructure as code and data-center operations for a provincial IIC."""

__version__ = "0.1.0"
