import SiesteCore
