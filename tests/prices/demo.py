from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"
